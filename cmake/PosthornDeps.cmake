# The chosen dependencies, all from Debian packages (see README).
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
pkg_check_modules(INIH REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(LIBCRYPT REQUIRED IMPORTED_TARGET libxcrypt)
pkg_check_modules(PAM REQUIRED IMPORTED_TARGET pam)

# libev ships no pkg-config file on Debian.
find_path(EV_INCLUDE_DIR ev.h REQUIRED)
find_library(EV_LIBRARY ev REQUIRED)
add_library(ph_libev INTERFACE)
target_include_directories(ph_libev INTERFACE ${EV_INCLUDE_DIR})
target_link_libraries(ph_libev INTERFACE ${EV_LIBRARY})

if(PH_TESTS)
  pkg_check_modules(CUNIT REQUIRED IMPORTED_TARGET cunit)
endif()
