using ActorSync.Transport.Interop;

namespace ActorSync.Sending;

/// <summary>
/// An open source file shared by the ranges in flight (the reader holds one reference, each range chunk
/// another); the descriptor is closed when the last is released. Ranges of one file may be sent by several
/// streams at once, and pread/sendfile with explicit offsets need no shared position.
/// </summary>
internal sealed class SourceFile(int fd, string relativePath, ulong fileId)
{
    private int _references = 1;

    public int Fd { get; } = fd;
    public string RelativePath { get; } = relativePath;
    public ulong FileId { get; } = fileId;

    public SourceFile AddReference()
    {
        Interlocked.Increment(ref _references);
        return this;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Libc.Close(Fd);
    }
}
