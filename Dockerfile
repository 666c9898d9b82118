# fkemu from Debian 12 packages alone. The default command serves the API (docs/api.md) on
# port 8980 with its state in /data; `docker run fkemu run /src/scenarios` runs the scenarios.
FROM debian:12
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKEMU_TESTS=OFF \
 && cmake --build build --target fkemu \
 && install -m 0755 build/apps/fkemu /usr/local/bin/fkemu
VOLUME /data
EXPOSE 8980
# Inside the container the server must listen on every interface for the port mapping;
# docker-compose.yml publishes it on the host's loopback only.
ENTRYPOINT ["fkemu"]
CMD ["serve", "--listen", "0.0.0.0:8980", "--data", "/data/state.db"]
