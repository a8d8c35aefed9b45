// The one source file of a separately compiled program that holds ackmq's default instantiations. Every
// file of the program, this one included, is compiled with ACKMQ_SEPARATE_COMPILATION defined; the others
// include <ackmq/ackmq.hpp> as usual and compile without instantiating the library.
#include <ackmq/impl/src.hpp>
