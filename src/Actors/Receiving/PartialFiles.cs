using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Receiving;

/// <summary>
/// Large files are received resumably into DEST/.actorsync/partial/KEY, KEY = SHA-256 of the path. Beside it,
/// KEY.journal: a header line (size, mtime, path) and one line per checkpoint, "offset sha256(bytes 0..offset)".
/// A checkpoint is written only after fsync of the data, so a record never claims bytes that are not on disk;
/// the next run re-hashes the kept prefix and trusts it only if the hash matches.
/// </summary>
internal static class PartialFiles
{
    public const string Directory = "partial";
    private const string Magic = "actorsync-partial-v1";

    public static string Key(string path) => Convert.ToHexStringLower(SHA256.HashData(FileNames.ToBytes(path)))[..40];

    public static string JournalName(string key) => key + ".journal";

    public static string Header(FileHeaderFrame h) =>
        $"{Magic} {h.Size} {h.MTime.Seconds}.{h.MTime.Nanoseconds:D9} {Convert.ToBase64String(FileNames.ToBytes(h.Path))}\n";

    public static string Checkpoint(long offset, byte[] hash) => $"{offset} {Convert.ToHexStringLower(hash)}\n";

    /// <summary>
    /// The verified prefix of a kept partial for <paramref name="entry"/>: its length and the hash state over it
    /// (to carry on hashing as more arrives), or null when there is none, it is for another version of the file,
    /// or its bytes no longer match the journal (changed on disk: not trusted, removed).
    /// </summary>
    public static (long Offset, IncrementalHash Hash)? VerifiedPrefix(int partialFd, OfferEntry entry)
    {
        string key = Key(entry.Path);
        string? journal = ReadJournal(partialFd, JournalName(key));
        if (journal is null) return null;
        var lines = journal.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = new FileHeaderFrame(entry.FileId, entry.Path, entry.Size, entry.Mode, entry.MTime);
        if (lines.Length < 2 || lines[0] + "\n" != Header(header)) { Remove(partialFd, key); return null; }
        // The last complete record wins; a torn last line (killed mid-write) is ignored.
        for (int i = lines.Length - 1; i >= 1; i--)
        {
            var parts = lines[i].Split(' ');
            if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long offset) || parts[1].Length != 64) continue;
            if (offset <= 0 || offset > entry.Size) continue;
            var hash = HashPrefix(partialFd, key, offset);
            if (hash is not null && Convert.ToHexStringLower(hash.GetCurrentHash()) == parts[1]) return (offset, hash);
            hash?.Dispose();
            Remove(partialFd, key);
            return null;
        }
        return null;
    }

    private static IncrementalHash? HashPrefix(int partialFd, string key, long length)
    {
        int fd = Libc.OpenAtForRead(partialFd, key);
        if (fd < 0) return null;
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            if (!Append(hash, fd, 0, length)) { hash.Dispose(); return null; }
            return hash;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>Feeds bytes [from, to) of <paramref name="fd"/> to the hash (they are in the page cache: just written).</summary>
    public static bool Append(IncrementalHash hash, int fd, long from, long to)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (long at = from; at < to;)
            {
                int want = (int)Math.Min(buffer.Length, to - at);
                int n = Libc.ReadFully(fd, buffer.AsSpan(0, want), at);
                if (n != want) return false;
                hash.AppendData(buffer, 0, n);
                at += n;
            }
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? ReadJournal(int partialFd, string name)
    {
        int fd = Libc.OpenAtForRead(partialFd, name);
        if (fd < 0) return null;
        try
        {
            byte[] buffer = new byte[64 << 10];
            int n = Libc.ReadFully(fd, buffer, 0);
            return n <= 0 ? null : Encoding.UTF8.GetString(buffer, 0, n);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    public static void Remove(int partialFd, string key)
    {
        Libc.Unlink(partialFd, key);
        Libc.Unlink(partialFd, JournalName(key));
    }
}
