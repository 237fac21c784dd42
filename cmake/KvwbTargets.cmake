# Helpers that keep each part's CMakeLists short. Sources are globbed per folder so that a new
# file needs no CMake edit; every part is a static library with the repository root on its
# include path (includes read "engine/model/safetensors.h").

# BASELINE: never -march=native (the CPU kernels, which pick their instruction set at run time:
# kernels/cpu/isa.h).
function(kvwb_warnings target)
  cmake_parse_arguments(ARG "BASELINE" "" "" ${ARGN})
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
  if(KVWB_NATIVE AND NOT ARG_BASELINE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
  endif()
endfunction()

# kvwb_library(NAME dir [BASELINE] DEPS a b c): a static library of every .cpp under dir.
function(kvwb_library name dir)
  cmake_parse_arguments(ARG "BASELINE" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
  if(NOT srcs)  # a part with headers only (so far)
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  if(ARG_BASELINE)
    kvwb_warnings(${name} BASELINE)
  else()
    kvwb_warnings(${name})
  endif()
endfunction()

# kvwb_test(NAME dir DEPS ... [LABEL l]): one GoogleTest executable of every .cpp under
# tests/dir. Its tests carry one ctest label, LABEL or else NAME, so that ctest -L / -LE can pick
# executables (scripts/test-sanitizers.sh runs a subset in CI).
function(kvwb_test name dir)
  cmake_parse_arguments(ARG "" "LABEL" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    KVWB_SOURCE_DIR="${PROJECT_SOURCE_DIR}" KVWB_BINARY_DIR="${PROJECT_BINARY_DIR}")
  kvwb_warnings(${name})
  if(NOT ARG_LABEL)
    set(ARG_LABEL ${name})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "KVWB_SOURCE_DIR=${PROJECT_SOURCE_DIR}" LABELS ${ARG_LABEL})
endfunction()
