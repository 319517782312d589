# pm_add_stage(<folder> HEADERS <public header>...): the stage's static library pm_<folder>
# from every .c in its folder. Other targets see only the headers listed: each is linked
# into <build>/api/<folder>/<folder>/, and that directory (not the source tree) is what
# linking pm_<folder> adds to a dependent's include path, so `#include "diff/diff.h"`
# works from any stage that links pm_diff and `#include "diff/diff_internal.h"` works from
# none. A stage's own files include their private headers by bare name (same folder).
# Tests and fuzz targets, which test internals, add the source root themselves.
function(pm_add_stage stage)
  cmake_parse_arguments(S "" "" "HEADERS" ${ARGN})
  if(NOT S_HEADERS)
    message(FATAL_ERROR "pm_add_stage(${stage}): list its public headers after HEADERS")
  endif()
  set(api ${PROJECT_BINARY_DIR}/api/${stage})
  file(REMOVE_RECURSE ${api})
  file(MAKE_DIRECTORY ${api}/${stage})
  foreach(header ${S_HEADERS})
    if(NOT EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${header})
      message(FATAL_ERROR "pm_add_stage(${stage}): no ${stage}/${header}")
    endif()
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR}/${header} ${api}/${stage}/${header} SYMBOLIC)
  endforeach()
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  add_library(pm_${stage} STATIC ${sources})
  target_include_directories(pm_${stage} PUBLIC ${api})
  set(PM_STAGE_SCOPE PUBLIC PARENT_SCOPE)
endfunction()
