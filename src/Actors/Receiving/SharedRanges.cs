using System.Globalization;
using System.Text;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// A cluster job's unit that carries part of one large file: range <paramref name="Index"/> of the file's ranges of
/// <paramref name="RangeBytes"/> each, or (<see cref="Finishes"/>) the unit that completes it once its ranges are in.
/// </summary>
internal readonly record struct FileRangeUnit(int Index, long RangeBytes)
{
    public const int FinishIndex = -1;

    public bool Finishes => Index < 0;

    /// <summary>This range of a file of <paramref name="size"/> bytes (empty when the file shrank below it).</summary>
    public (long Start, long End) Of(long size) => (Math.Min(size, Index * RangeBytes), Math.Min(size, (Index + 1) * RangeBytes));
}

/// <summary>
/// Where the ranges of a large file meet: DEST/.actorsync/ranges/KEY (KEY from the path, as for partials), written at
/// its offsets by every unit that carries a range of it, on any receiver node (DEST is one shared filesystem). A unit
/// whose range is written and fsynced leaves a marker beside it, KEY.rINDEX: "SIZE MTIME START END", the version of the
/// file and the bytes it holds. The finishing unit keeps the bytes the markers of this version vouch for (the sender
/// sends whatever no marker covers), gives the file its metadata and renames it into place. A marker is only worth
/// something while its data file is there: markers go before the rename, and a data file made afresh clears them.
/// </summary>
internal static class SharedRanges
{
    public const string Directory = "ranges";

    private const string MarkerSuffix = ".r";

    /// <summary>Bytes of one Held block at most (its length is an int on the wire).</summary>
    private const long MaxBlock = 1L << 30;

    public static string MarkerName(string key, int index) => key + MarkerSuffix + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The bytes of this version of the file that markers say are written and durable in its data file; empty when
    /// the data file is not there (then no marker counts).
    /// </summary>
    public static RangeSet Confirmed(int dirFd, string key, long size, FileTime mtime)
    {
        var held = new RangeSet();
        if (Libc.StatNoFollow(dirFd, key, out var data) != 0 || (data.Mode & Libc.S_IFMT) != Libc.S_IFREG) return held;
        string version = $"{size} {mtime.Seconds}.{mtime.Nanoseconds:D9} ";
        Span<byte> text = stackalloc byte[128];
        foreach (string name in MarkersOf(dirFd, key))
        {
            int fd = Libc.OpenAtForRead(dirFd, name);
            if (fd < 0) continue;
            int n = Libc.ReadFully(fd, text, 0);
            Libc.Close(fd);
            if (n <= 0) continue;
            string line = Encoding.ASCII.GetString(text[..n]);
            if (!line.StartsWith(version, StringComparison.Ordinal) || !line.EndsWith('\n')) continue;   // another version, or torn
            var parts = line[version.Length..^1].Split(' ');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long end) && start < end && end <= size
                && end <= (long)data.Size)
                held.AddAllowingOverlap(start, end - start);
        }
        return held;
    }

    /// <summary>The ranges as Held blocks (verified here: the sender keeps them without hashing).</summary>
    public static HeldBlock[] Blocks(RangeSet ranges)
    {
        var blocks = new List<HeldBlock>();
        foreach (var (start, end) in ranges.Segments)
            for (long at = start; at < end; at += MaxBlock) blocks.Add(new HeldBlock(at, (int)Math.Min(MaxBlock, end - at), null));
        return [.. blocks];
    }

    /// <summary>Records that [start, end) of this version is in the data file (already fsynced). 0 or the errno.</summary>
    public static int WriteMarker(int dirFd, string key, int index, long size, FileTime mtime, long start, long end)
    {
        string name = MarkerName(key, index);
        Libc.Unlink(dirFd, name);
        int fd = Libc.CreateExclusive(dirFd, name);
        // Another attempt of this very range just wrote it: the same bytes, the same version.
        if (fd < 0) return Libc.LastErrno == Libc.EEXIST ? 0 : Libc.LastErrno;
        byte[] line = Encoding.ASCII.GetBytes($"{size} {mtime.Seconds}.{mtime.Nanoseconds:D9} {start} {end}\n");
        int errno = Libc.WriteFully(fd, line, 0);
        if (errno == 0 && Libc.SyncData(fd) != 0) errno = Libc.LastErrno;
        Libc.Close(fd);
        return errno;
    }

    /// <summary>Removes the file's markers (before its data file is renamed away or made afresh).</summary>
    public static void RemoveMarkers(int dirFd, string key)
    {
        foreach (string name in MarkersOf(dirFd, key)) Libc.Unlink(dirFd, name);
    }

    private static List<string> MarkersOf(int dirFd, string key)
    {
        var names = new List<string>();
        int fd = Libc.OpenDirectoryToList(dirFd, ".");
        if (fd < 0) return names;
        using var listing = new DirectoryListing(fd);
        string prefix = key + MarkerSuffix;
        try
        {
            while (listing.Next(out string name, out _))
                if (name.StartsWith(prefix, StringComparison.Ordinal)) names.Add(name);
        }
        catch (IOException) { }
        return names;
    }
}
