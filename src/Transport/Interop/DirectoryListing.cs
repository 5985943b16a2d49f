using System.Buffers;
using System.Buffers.Binary;
using ActorSync.Transport.Frames;

namespace ActorSync.Transport.Interop;

/// <summary>
/// The entries of one open directory, read with getdents64: names exactly as the kernel has them (decoded by
/// <see cref="FileNames"/>), never through .NET's lossy name handling, and relative to the directory's own
/// descriptor, so no path is ever longer than one name. Lazy: a directory of a million entries costs one buffer.
/// </summary>
internal sealed class DirectoryListing : IDisposable
{
    /// <summary>One getdents64 call's worth: a few hundred typical names per syscall.</summary>
    private const int BufferSize = 32 << 10;

    private byte[]? _buffer;
    private bool _pooled;
    private int _position, _length;
    private bool _ended;

    /// <summary>Takes ownership of <paramref name="fd"/> (an open directory).</summary>
    public DirectoryListing(int fd) => Fd = fd;

    public int Fd { get; private set; }

    /// <summary>The next entry ("." and ".." skipped), false at the end. Throws <see cref="IOException"/> if listing fails.</summary>
    public bool Next(out string name, out byte type)
    {
        while (true)
        {
            if (_position >= _length)
            {
                if (_ended || !Fill()) { name = ""; type = 0; return false; }
            }
            var record = _buffer.AsSpan(_position, _length - _position);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(record[16..]);
            type = record[18];
            var raw = record[19..length];
            int nul = raw.IndexOf((byte)0);
            if (nul >= 0) raw = raw[..nul];
            _position += length;
            if (raw is [(byte)'.'] or [(byte)'.', (byte)'.']) continue;
            name = FileNames.Decode(raw);
            return true;
        }
    }

    private bool Fill()
    {
        if (!_pooled)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            _pooled = true;
        }
        int n = Libc.ReadDirectoryEntries(Fd, _buffer.AsSpan(0, BufferSize));
        if (n < 0) throw new IOException(Libc.Describe(-n));
        _position = 0;
        _length = n;
        if (n == 0) _ended = true;
        return n > 0;
    }

    /// <summary>
    /// Gives the big buffer back while a walk is busy deeper down, keeping only the entries not yet read: memory
    /// follows the depth of a walk, not the width of the directories on its way.
    /// </summary>
    public void Park()
    {
        if (!_pooled) return;
        byte[] rest = _buffer.AsSpan(_position, _length - _position).ToArray();
        ArrayPool<byte>.Shared.Return(_buffer!);
        _pooled = false;
        _buffer = rest;
        _position = 0;
        _length = rest.Length;
    }

    public void Dispose()
    {
        if (_pooled) ArrayPool<byte>.Shared.Return(_buffer!);
        _pooled = false;
        _buffer = null;
        if (Fd >= 0) Libc.Close(Fd);
        Fd = -1;
    }
}
