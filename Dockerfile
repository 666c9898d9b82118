# fkemu from Debian 12 packages alone: builds the emulator and runs the bundled scenarios.
FROM debian:12
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKEMU_TESTS=OFF \
 && cmake --build build --target fkemu \
 && install -m 0755 build/emulator/fkemu /usr/local/bin/fkemu
ENTRYPOINT ["fkemu"]
CMD ["run", "/src/scenarios"]
