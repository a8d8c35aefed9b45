#pragma once
// ackmq internals: the separate-compilation mode. Header-only is the default and needs nothing. A program
// that defines ACKMQ_SEPARATE_COMPILATION in every source file and includes <ackmq/impl/src.hpp> in exactly
// one of them compiles the library's default instantiations (std::string bodies, on SystemClock and on
// ManualClock) once, in that file; the other files only declare them (extern template) and compile in a
// fraction of the header-only time.
//
// An explicit instantiation declaration alone does not keep a compiler from instantiating a member: when it
// optimises, g++ instantiates every inline member a file calls, and clang++ every inline member it might
// inline, with all that member calls in turn. So the members of the public classes that reach into the
// broker are defined outside their class and marked ACKMQ_DECL (asio's ASIO_DECL): header-only it is
// `inline`, and the optimiser sees what it saw when they were defined in the class; in this mode it is
// nothing, and a member that is neither inline nor instantiated here is left to the one file.

#if defined(ACKMQ_SEPARATE_COMPILATION)
#define ACKMQ_DECL
#else
#define ACKMQ_DECL inline
#endif
