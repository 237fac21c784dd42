# KVWB_SANITIZE: build everything (C and C++, not CUDA) with a sanitizer.
#   address: AddressSanitizer + UndefinedBehaviorSanitizer; any UB report aborts the test
#            (-fno-sanitize-recover), so ctest sees it as a failure.
#   thread:  ThreadSanitizer, for the engine, recorder and controller threads.
# Either turns the internal invariant checks on (KVWB_CHECK_INVARIANTS, engine/core/invariant.h),
# as a build without NDEBUG does. Use a build directory of its own, e.g.
#   cmake -S . -B build-asan -G Ninja -DKVWB_SANITIZE=address -DKVWB_GUI=OFF -DKVWB_CUDA=OFF
set(KVWB_SANITIZE "" CACHE STRING "Sanitizer build: address (ASan+UBSan), thread (TSan) or empty")
set_property(CACHE KVWB_SANITIZE PROPERTY STRINGS "" address thread)

if(KVWB_SANITIZE STREQUAL "address")
  set(kvwb_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined)
elseif(KVWB_SANITIZE STREQUAL "thread")
  set(kvwb_sanitize_flags -fsanitize=thread)
elseif(NOT KVWB_SANITIZE STREQUAL "")
  message(FATAL_ERROR "KVWB_SANITIZE must be address, thread or empty, not '${KVWB_SANITIZE}'")
endif()

if(kvwb_sanitize_flags)
  # Frame pointers and line tables make the reports readable; -O1 keeps the build short (CI
  # builds this next to the normal build) while the tests still run at a usable speed.
  list(APPEND kvwb_sanitize_flags -fno-omit-frame-pointer -g)
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:${kvwb_sanitize_flags};-O1>")
  add_link_options(${kvwb_sanitize_flags})
  add_compile_definitions(KVWB_CHECK_INVARIANTS=1 KVWB_SANITIZER_BUILD=1)
  message(STATUS "kvwb: sanitizer build (${KVWB_SANITIZE}): ${kvwb_sanitize_flags}")
endif()

# Fuzzing engine for tests/fuzz (KVWB_FUZZ=ON): the portable driver, or libFuzzer (clang), for
# which every library is built with coverage instrumentation.
set(KVWB_FUZZ_ENGINE driver CACHE STRING "Fuzzing engine: driver (any compiler) or libfuzzer (clang)")
set_property(CACHE KVWB_FUZZ_ENGINE PROPERTY STRINGS driver libfuzzer)
if(KVWB_FUZZ AND KVWB_FUZZ_ENGINE STREQUAL "libfuzzer")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KVWB_FUZZ_ENGINE=libfuzzer needs clang (-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang)")
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>")
endif()
