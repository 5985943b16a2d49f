using System.Runtime.InteropServices;
using Tmds.Linux;

namespace ActorSync.Transport.Interop;

/// <summary>
/// Socket calls kernel TLS needs and .NET does not expose faithfully: setsockopt/getsockopt with the exact
/// errno (SetRawSocketOption reports ENOENT as AddressNotAvailable), recvmsg/sendmsg with control messages
/// (a TLS control record makes plain recv fail with EIO), and sendfile.
/// </summary>
internal static unsafe partial class Libc
{
    public const int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21;
    public const int SOL_TCP = 6, TCP_ULP = 31;
    public const int SOL_TLS = 282, TLS_TX = 1, TLS_RX = 2, TLS_RX_EXPECT_NO_PAD = 4;
    public const int TLS_SET_RECORD_TYPE = 1, TLS_GET_RECORD_TYPE = 2;
    public const int MSG_CTRUNC = 0x8, MSG_EOR = 0x80, MSG_NOSIGNAL = 0x4000, MSG_MORE = 0x8000;
    private const int F_GETFL = 3, F_SETFL = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec { public void* Base; public nuint Length; }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name; public uint NameLength;
        public IoVec* Iov; public nuint IovLength;
        public void* Control; public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval { public long Sec; public long Usec; }

    /// <summary>CMSG_SPACE(1) on 64-bit Linux: 16-byte header plus the type byte, aligned to 8.</summary>
    private const int RecordTypeControlSpace = 24;

    private static int setsockopt(int fd, int level, int name, void* value, int length) => LibC.setsockopt(fd, level, name, value, (socklen_t)length);

    // Our MsgHdr has Tmds.Linux.msghdr's layout (StructLayoutTests); the record-type control message is ours to build.
    private static nint recvmsg(int fd, MsgHdr* msg, int flags) => (nint)LibC.recvmsg(fd, (msghdr*)msg, flags);

    private static nint sendmsg(int fd, MsgHdr* msg, int flags) => (nint)LibC.sendmsg(fd, (msghdr*)msg, flags);

    private static nint send(int fd, byte* buffer, nint length, int flags) => (nint)LibC.send(fd, buffer, (size_t)length, flags);

    /// <summary>Not in Tmds.LibC 0.5, and Socket.SendPacketsAsync cannot serve: it goes through the socket's
    /// async engine (non-blocking, epoll) while a kTLS socket here is blocking and owned by one thread, and it
    /// reports no errno. glibc's wrapper.</summary>
    [LibraryImport(LibraryName, EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint sendfile(int outFd, int inFd, long* offset, nint count);

    private static int fcntl(int fd, int command, int argument) => LibC.fcntl(fd, command, argument);

    /// <summary>setsockopt(TCP_ULP, "tls"): 0, or the errno (ENOENT: no tls module; ENOTCONN: not established).</summary>
    public static int AttachTlsUpperLayer(int fd)
    {
        byte* name = stackalloc byte[] { (byte)'t', (byte)'l', (byte)'s' };
        return setsockopt(fd, SOL_TCP, TCP_ULP, name, 3) == 0 ? 0 : LastErrno;
    }

    /// <summary>setsockopt(SOL_TLS, TLS_TX or TLS_RX, crypto_info): 0 or the errno.</summary>
    public static int InstallTlsCryptoInfo(int fd, bool transmit, ReadOnlySpan<byte> cryptoInfo)
    {
        fixed (byte* p = cryptoInfo) return setsockopt(fd, SOL_TLS, transmit ? TLS_TX : TLS_RX, p, cryptoInfo.Length) == 0 ? 0 : LastErrno;
    }

    /// <summary>TLS 1.3 RX: promise the kernel our peer never pads records, so it can decrypt in place.</summary>
    public static int ExpectNoPadding(int fd)
    {
        int one = 1;
        return setsockopt(fd, SOL_TLS, TLS_RX_EXPECT_NO_PAD, &one, sizeof(int)) == 0 ? 0 : LastErrno;
    }

    /// <summary>Blocking mode with timeouts: calls return EAGAIN after <paramref name="timeout"/> so a waiting
    /// caller can check for cancellation without a per-call allocation.</summary>
    public static int MakeBlockingWithTimeouts(int fd, TimeSpan timeout)
    {
        int flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return LastErrno;
        var tv = new Timeval { Sec = (long)timeout.TotalSeconds, Usec = timeout.Milliseconds * 1000L };
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(Timeval)) != 0) return LastErrno;
        return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(Timeval)) == 0 ? 0 : LastErrno;
    }

    /// <summary>send() with MSG_NOSIGNAL (and MSG_MORE when more data for the same record follows): bytes or -errno.</summary>
    public static nint Send(int fd, ReadOnlySpan<byte> data, bool more)
    {
        fixed (byte* p = data)
        {
            nint n = send(fd, p, data.Length, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
            return n >= 0 ? n : -LastErrno;
        }
    }

    /// <summary>sendfile from a file into the socket at <paramref name="offset"/> (advanced): bytes or -errno.</summary>
    public static nint SendFile(int socketFd, int fileFd, ref long offset, int count)
    {
        fixed (long* o = &offset)
        {
            nint n = sendfile(socketFd, fileFd, o, count);
            return n >= 0 ? n : -LastErrno;
        }
    }

    /// <summary>Sends one record of <paramref name="recordType"/> through a kTLS TX socket (e.g. an alert).</summary>
    public static nint SendRecord(int fd, byte recordType, ReadOnlySpan<byte> payload)
    {
        byte* control = stackalloc byte[RecordTypeControlSpace];
        new Span<byte>(control, RecordTypeControlSpace).Clear();
        *(nuint*)control = 17;                      // CMSG_LEN(1)
        *(int*)(control + 8) = SOL_TLS;
        *(int*)(control + 12) = TLS_SET_RECORD_TYPE;
        control[16] = recordType;
        fixed (byte* p = payload)
        {
            var iov = new IoVec { Base = p, Length = (nuint)payload.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = RecordTypeControlSpace };
            nint n = sendmsg(fd, &msg, MSG_NOSIGNAL);
            return n >= 0 ? n : -LastErrno;
        }
    }

    /// <summary>
    /// recvmsg with room for the TLS record-type control message: bytes (0 = end of stream) or -errno, and the
    /// record type (23 application data, 21 alert, ...; -1 if the kernel attached none).
    /// </summary>
    public static nint ReceiveRecord(int fd, Span<byte> dest, out int recordType)
    {
        byte* control = stackalloc byte[64];
        new Span<byte>(control, 64).Clear();
        fixed (byte* p = dest)
        {
            var iov = new IoVec { Base = p, Length = (nuint)dest.Length };
            var msg = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
            nint n = recvmsg(fd, &msg, 0);
            recordType = -1;
            if (n < 0) return -LastErrno;
            if (msg.ControlLength >= 17 && *(int*)(control + 8) == SOL_TLS && *(int*)(control + 12) == TLS_GET_RECORD_TYPE)
                recordType = control[16];
            return n;
        }
    }
}
