// Linux errno numbers as C++ constants (the facade maps them to E* macros).
#ifndef MM_BASE_ERRNO_H_
#define MM_BASE_ERRNO_H_

namespace mm {

inline constexpr int kEPERM = 1;
inline constexpr int kENOENT = 2;
inline constexpr int kESRCH = 3;
inline constexpr int kEINTR = 4;
inline constexpr int kEIO = 5;
inline constexpr int kECHILD = 10;
inline constexpr int kEAGAIN = 11;
inline constexpr int kENOMEM = 12;
inline constexpr int kEACCES = 13;
inline constexpr int kEFAULT = 14;
inline constexpr int kEBUSY = 16;
inline constexpr int kEEXIST = 17;
inline constexpr int kENODEV = 19;
inline constexpr int kEINVAL = 22;
inline constexpr int kENFILE = 23;
inline constexpr int kEFBIG = 27;
inline constexpr int kENOSPC = 28;
inline constexpr int kERANGE = 34;
inline constexpr int kENOSYS = 38;
inline constexpr int kEOVERFLOW = 75;

inline constexpr unsigned long kMaxErrno = 4095;

// Linux's IS_ERR_VALUE: the top 4095 values of the address space encode -errno.
constexpr bool IsErrValue(unsigned long x) { return x >= static_cast<unsigned long>(-kMaxErrno); }

}  // namespace mm

#endif  // MM_BASE_ERRNO_H_
