# Warnings and sanitizers applied to every bpfrt target through bpfrt_options.
add_library(bpfrt_options INTERFACE)
target_compile_options(bpfrt_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>
  $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>)
if(BPFRT_SANITIZE)
  target_compile_options(bpfrt_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(bpfrt_options INTERFACE -fsanitize=address,undefined)
endif()
if(BPFRT_TSAN)
  target_compile_options(bpfrt_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(bpfrt_options INTERFACE -fsanitize=thread)
endif()

# bpfrt_component(NAME [LIBS targets...] [PKG_MODULES pkg-config-modules...]):
# an object library bpfrt_NAME from every .cpp in the current source folder
# (and its subfolders). PKG_MODULES are system libraries found with
# pkg-config; they are recorded so that libbpfrt, its pkg-config file and
# its CMake package all carry them (one list, no repetition).
find_package(PkgConfig REQUIRED)
function(bpfrt_component name)
  cmake_parse_arguments(ARG "" "" "LIBS;PKG_MODULES" ${ARGN})
  set(pkg_targets)
  foreach(mod IN LISTS ARG_PKG_MODULES)
    string(TOUPPER "BPFRT_PKG_${mod}" var)
    string(REPLACE "-" "_" var "${var}")
    if(NOT TARGET PkgConfig::${var})
      pkg_check_modules(${var} REQUIRED IMPORTED_TARGET GLOBAL ${mod})
    endif()
    list(APPEND pkg_targets PkgConfig::${var})
    set_property(GLOBAL APPEND PROPERTY BPFRT_PKG_MODULES ${mod})
    set_property(GLOBAL APPEND PROPERTY BPFRT_PKG_TARGETS PkgConfig::${var})
  endforeach()
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  add_library(bpfrt_${name} OBJECT ${srcs})
  target_include_directories(bpfrt_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/src>)
  target_link_libraries(bpfrt_${name} PUBLIC bpfrt_options fmt::fmt ${ARG_LIBS} ${pkg_targets})
endfunction()

# bpfrt_test(NAME SOURCES... [LIBS ...]): a GoogleTest executable registered with CTest.
function(bpfrt_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  # The whole library comes last: components a test names are linked as
  # objects, anything else they call is taken from libbpfrt.
  target_link_libraries(${name} PRIVATE bpfrt_options GTest::gtest_main ${ARG_LIBS} bpfrt)
  target_compile_definitions(${name} PRIVATE
    BPFRT_SHARED_DIR="${BPFRT_SHARED_DIR}" BPFRT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  # Header-only pieces shared by tests: "support/...".
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  # Each test is labelled with its executable, so CI can pick components (ctest -L).
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS ${name})
endfunction()
