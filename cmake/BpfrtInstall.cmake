# Installation: headers, libbpfrt, the CLI, a CMake package (find_package(bpfrt))
# and a pkg-config file (pkg-config --cflags --libs bpfrt).
include(CMakePackageConfigHelpers)

install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/bpfrt DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS bpfrt EXPORT bpfrtTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT bpfrtTargets NAMESPACE bpfrt:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfrt)

configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/bpfrtConfig.cmake.in
  ${CMAKE_BINARY_DIR}/bpfrtConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfrt)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/bpfrtConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/bpfrtConfig.cmake ${CMAKE_BINARY_DIR}/bpfrtConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfrt)

# The .pc file finds the prefix relative to itself, so the installed tree
# can be moved (cmake --install --prefix ...).
file(RELATIVE_PATH BPFRT_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" BPFRT_PC_TO_PREFIX "${BPFRT_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/bpfrt.pc.in ${CMAKE_BINARY_DIR}/bpfrt.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/bpfrt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(EXISTS ${CMAKE_SOURCE_DIR}/man)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man3
    FILES_MATCHING PATTERN "*.3")
endif()
