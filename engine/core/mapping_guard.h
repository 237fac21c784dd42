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

// Registers [begin, begin + size) as the mapping of `path`; returns its slot, or -1 when every
// slot is taken (the mapping is then unguarded). Installs the handler on first use.
int add(const void* begin, size_t size, const std::string& path);
// Forgets a slot (before the mapping is unmapped).
void remove(int slot);
// Whether the mapping of `slot` lost pages (read as zeros since).
bool damaged(int slot);

}  // namespace kvwb::mapping_guard
