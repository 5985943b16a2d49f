using ActorSync.Transport.Interop;

namespace ActorSync.Host.Demo;

/// <summary>
/// Compares two trees entry by entry: the same names, types, permission bits, mtimes (to the nanosecond),
/// sizes, bytes and symlink targets. Used by the demo's verification and by the end-to-end tests.
/// </summary>
internal static class TreeComparer
{
    public sealed record Result(long Entries, IReadOnlyList<string> Differences)
    {
        public bool Identical => Differences.Count == 0;
    }

    private const int MaxDifferences = 50;

    public static Result Compare(string expected, string actual, bool compareRootMetadata = false)
    {
        var diffs = new List<string>();
        long entries = 0;
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0 && diffs.Count < MaxDifferences)
        {
            string rel = pending.Pop();
            var left = List(Path.Join(expected, rel));
            var right = List(Path.Join(actual, rel));
            foreach (string name in left.Except(right)) diffs.Add($"missing: {Path.Join(rel, name)}");
            foreach (string name in right.Except(left)) diffs.Add($"unexpected: {Path.Join(rel, name)}");
            foreach (string name in left.Intersect(right))
            {
                entries++;
                string r = rel.Length == 0 ? name : rel + "/" + name;
                string? diff = CompareEntry(Path.Join(expected, r), Path.Join(actual, r), out bool isDir);
                if (diff is not null) diffs.Add($"{r}: {diff}");
                if (isDir) pending.Push(r);
            }
        }
        if (compareRootMetadata && CompareEntry(expected, actual, out _) is { } rootDiff) diffs.Add($".: {rootDiff}");
        return new Result(entries, diffs);
    }

    private static HashSet<string> List(string dir) =>
        Directory.Exists(dir) ? new HashSet<string>(Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName)!, StringComparer.Ordinal) : [];

    private static string? CompareEntry(string a, string b, out bool isDir)
    {
        isDir = false;
        if (Libc.StatNoFollow(Libc.AT_FDCWD, a, out var sa) != 0 || Libc.StatNoFollow(Libc.AT_FDCWD, b, out var sb) != 0) return "cannot stat";
        int type = sa.Mode & Libc.S_IFMT;
        if (type != (sb.Mode & Libc.S_IFMT)) return $"type {type:x} vs {sb.Mode & Libc.S_IFMT:x}";
        isDir = type == Libc.S_IFDIR;
        if (type != Libc.S_IFLNK && (sa.Mode & 0x1FF) != (sb.Mode & 0x1FF)) return $"mode {Convert.ToString(sa.Mode & 0x1FF, 8)} vs {Convert.ToString(sb.Mode & 0x1FF, 8)}";
        if (sa.Mtime.Sec != sb.Mtime.Sec || sa.Mtime.Nsec != sb.Mtime.Nsec) return $"mtime {sa.Mtime.Sec}.{sa.Mtime.Nsec:D9} vs {sb.Mtime.Sec}.{sb.Mtime.Nsec:D9}";
        if (type == Libc.S_IFLNK)
        {
            string? ta = Libc.ReadLink(a, out _), tb = Libc.ReadLink(b, out _);
            return ta == tb ? null : $"link target \"{ta}\" vs \"{tb}\"";
        }
        if (type != Libc.S_IFREG) return null;
        if (sa.Size != sb.Size) return $"size {sa.Size} vs {sb.Size}";
        return SameBytes(a, b) ? null : "content differs";
    }

    private static bool SameBytes(string a, string b)
    {
        const int Block = 1 << 20;
        using var fa = File.OpenHandle(a);
        using var fb = File.OpenHandle(b);
        byte[] ba = new byte[Block], bb = new byte[Block];
        for (long offset = 0; ; offset += Block)
        {
            int na = RandomAccess.Read(fa, ba, offset), nb = RandomAccess.Read(fb, bb, offset);
            if (na != nb || !ba.AsSpan(0, na).SequenceEqual(bb.AsSpan(0, nb))) return false;
            if (na == 0) return true;
        }
    }
}
