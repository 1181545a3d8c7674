// Anchor for the shared precompiled test header (see reference/CMakeLists.txt).
