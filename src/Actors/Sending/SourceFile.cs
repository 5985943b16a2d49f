using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Sending;

/// <summary>
/// An open large source file whose ranges go out by reference (sendfile on kernel-TLS streams): the reader holds
/// one reference, each range chunk another, and the descriptor is closed when the last is released. Ranges of
/// one file may be sent by several streams at once (pread/sendfile take explicit offsets).
/// <para>
/// The kernel reads such bytes only when a stream sends them, so the file is judged then: it ends with one
/// FileEnd once every range went out and the source still has the size and mtime the walk saw, or with one
/// FileAbort if a range met the end of the file early or the source changed. The receiver commits such a file
/// only after its FileEnd. Whoever finishes the last send (the reader or a stream) writes the verdict.
/// </para>
/// </summary>
internal sealed class SourceFile(int fd, string relativePath, ulong fileId, long size, FileTime mtime)
{
    private const int StateOpen = 0, StateEnded = 1, StateAborted = 2;

    private int _references = 1;
    private int _unsent = 1;
    private int _state;

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

    /// <summary>A chunk of this file is on its way to a stream.</summary>
    public void Queued() => Interlocked.Increment(ref _unsent);

    /// <summary>A chunk's first send is over (or the reader has queued them all): true for the last one while the
    /// file is neither ended nor aborted, and then the caller writes the verdict (<see cref="Verdict"/>).</summary>
    public bool Sent() => Interlocked.Decrement(ref _unsent) == 0 && Volatile.Read(ref _state) == StateOpen;

    /// <summary>The first to abort the file sends its FileAbort; later ones (other ranges, a re-send) do not.
    /// An ended file may still be aborted: a range re-sent after a reconnect found the source changed.</summary>
    public bool TryAbort() => Interlocked.Exchange(ref _state, StateAborted) != StateAborted;

    /// <summary>Aborted already: the reader stops queuing its ranges.</summary>
    public bool Aborted => Volatile.Read(ref _state) == StateAborted;

    /// <summary>
    /// Called once, by whoever's <see cref="Sent"/> was true: FileEnd if the source held still, else FileAbort
    /// with the reason (and the caller reports it).
    /// </summary>
    public (byte[] Frame, string? Problem)? Verdict()
    {
        string? changed = ChangedSinceWalk();
        if (changed is null)
        {
            if (Interlocked.CompareExchange(ref _state, StateEnded, StateOpen) != StateOpen) return null;
            byte[] end = new byte[FrameWriter.FileEndLength];
            FrameWriter.FileEnd(end, FileId);
            return (end, null);
        }
        return TryAbort() ? (AbortFrame(changed), changed) : null;
    }

    public byte[] AbortFrame(string reason)
    {
        byte[] frame = new byte[FrameWriter.FileAbortLength(reason)];
        FrameWriter.FileAbort(frame, new FileAbortFrame(FileId, reason));
        return frame;
    }

    /// <summary>Whether the source still has bytes up to <paramref name="end"/> as the walk saw them (a re-send checks first).</summary>
    public bool StillCovers(long end) => ChangedSinceWalk() is null && end <= size;

    public string? ChangedSinceWalk() => SourceChecks.ChangedSinceWalk(Fd, size, mtime);
}

/// <summary>Checks a read copy against what the walk saw.</summary>
internal static class SourceChecks
{
    public const string ChangedWhileRead = "changed while being read, not copied (a re-run copies it)";

    /// <summary>
    /// Like tar's "file changed as we read it": a file whose size or mtime moved since the walk may have been
    /// read half old, half new. It is not committed (the receiver keeps whatever it had), and it is reported;
    /// one statx per file, on the descriptor already open.
    /// </summary>
    public static string? ChangedSinceWalk(int fd, long size, FileTime mtime)
    {
        if (Libc.StatOpen(fd, out var st) != 0) return Libc.Describe(Libc.LastErrno);
        if ((long)st.Size == size && st.Mtime.Sec == mtime.Seconds && st.Mtime.Nsec == mtime.Nanoseconds) return null;
        return (long)st.Size == size ? $"{ChangedWhileRead}: modified in place" : $"{ChangedWhileRead}: {size} -> {st.Size} bytes";
    }
}
