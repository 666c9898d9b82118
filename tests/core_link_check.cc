// Links against fkemu_core alone: if core/ grew a dependency on emulator/ or harness/, this
// executable would fail to link.
#include "core/runtime/executor.h"

int main() {
  fkemu::Executor ex(1);
  ex.run();
  return ex.process_count() == 0 ? 0 : 1;
}
