#pragma once
// Keeps a file that shrinks under a live memory map from killing the process. Parsers check
// every offset against the size read at open, but another process can truncate the file
// afterwards (a download rewriting it in place, `: > file`): the kernel then removes those pages
// from every mapping and the next read of them raises SIGBUS. The guard's SIGBUS handler finds
// the mapping that holds the faulting address, puts zero pages where the lost ones were (the
// read completes, with zeros) and marks the mapping damaged; the engine checks after each step
// and stops with an Error naming the file, so the run ends like any other failed run.
// SIGBUS from anything else (another mapping, a hardware error) goes to the previous handler.
#include <cstddef>
#include <string>

namespace kvwb::mapping_guard {

// Registers [begin, begin + size) as the mapping of `path` (MappedFile does, for every file it
// maps). When every slot is taken the mapping stays unguarded. Installs the handler on first use.
void add(const void* begin, size_t size, const std::string& path);
// Forgets the mapping that starts at `begin` (before it is unmapped).
void remove(const void* begin);
// Whether the mapping that starts at `begin` lost pages (they read as zeros since): its bytes
// are no longer the file's and whatever was computed from them is wrong.
bool damaged(const void* begin);

}  // namespace kvwb::mapping_guard
