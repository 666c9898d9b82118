// Protocol mutants: named, deliberately broken variants of the protocol, compiled in only with
// the CMake option FKEMU_MUTANTS and switched on at run time (DeploymentConfig::mutant). They
// prove that the harness finds bugs: `fkemu mutants` explores each one and reports whether a
// guarantee check caught it. Without FKEMU_MUTANTS every FKEMU_MUTANT(...) is false and the
// compiler removes the broken branches.
#pragma once

#include <string>
#include <vector>

namespace fkemu {

struct MutantInfo {
  const char* name;
  const char* breaks;  // what is broken
};

inline const std::vector<MutantInfo>& protocol_mutants() {
  static const std::vector<MutantInfo> m = {
      {"distributor.skip_pending_check",
       "the distributor applies every update without checking it was committed"},
      {"distributor.answer_before_write",
       "the distributor answers the client before it writes the user store"},
      {"commit_on_behalf.disabled",
       "the distributor drops an update whose writer died between push and commit"},
      {"watch.ignore_registration_zxid",
       "the watch query fires registrations made after the update too"},
      {"distributor.no_second_look",
       "the distributor does not look for registrations again after writing the user store"},
      {"epoch.not_attached", "user-store records and answers carry no epoch"},
      {"reads.not_stalled", "the client returns results without waiting for owed notifications"},
      {"reads.no_catch_up",
       "the client reads a node of a multi-node update before that update's record is there"},
      {"ephemeral.cleanup_skipped", "closing or expiring a session leaves its ephemeral nodes"},
      {"sequential.from_cversion",
       "the sequential suffix is taken from cversion instead of the create count"},
      {"timelock.never_expires", "a timelock is never considered expired"},
      {"fifo.dedup_off", "the FIFO queues do not deduplicate"},
      {"multi.checks_against_start",
       "the writer checks a multi's operations against the nodes as they were before the multi, "
       "not as its earlier operations left them"},
      {"persistent.removed_on_fire",
       "the client library drops a persistent watch once it has fired, as a one-shot watch"},
      {"container.clean_unused", "the service deletes an empty container that never had a child"},
      {"ttl.from_creation",
       "the TTL function counts a TTL node's time from its creation, not its last data change"},
      {"acl.reads_unchecked",
       "the client library answers get_data and get_children without checking READ"},
  };
  return m;
}

}  // namespace fkemu

#ifdef FKEMU_MUTANTS
#define FKEMU_MUTANT(config, mutant_name) ((config).mutant == (mutant_name))
#else
#define FKEMU_MUTANT(config, mutant_name) false
#endif
