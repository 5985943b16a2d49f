using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Host.Demo;

/// <summary>
/// Compares two trees entry by entry: the same names (as bytes), types, permission bits, mtimes (to the
/// nanosecond), sizes, bytes, symlink targets, device numbers, hard-link groups, and (as root) owners. Walks
/// by directory descriptor, so paths deeper than PATH_MAX compare too. Used by the demo's verification and by the
/// end-to-end tests (which also check with an independent checker, tests/tools/treecheck.py).
/// </summary>
internal static class TreeComparer
{
    public sealed record Result(long Entries, IReadOnlyList<string> Differences)
    {
        public bool Identical => Differences.Count == 0;
    }

    private const int MaxDifferences = 50;

    /// <param name="owners">Compare numeric owners and groups (default: when running as root, which can preserve them).</param>
    public static Result Compare(string expected, string actual, bool compareRootMetadata = false, bool? owners = null)
    {
        var walk = new Walk(owners ?? Libc.IsRoot);
        int a = Libc.OpenDirectoryFollowing(expected), b = Libc.OpenDirectoryFollowing(actual);
        if (a < 0 || b < 0)
        {
            Libc.CloseQuietly(a);
            Libc.CloseQuietly(b);
            walk.Differences.Add($"cannot open {(a < 0 ? expected : actual)}");
            return new Result(0, walk.Differences);
        }
        walk.Directory("", a, b);
        if (compareRootMetadata && Libc.StatOpen(a, out var ra) == 0 && Libc.StatOpen(b, out var rb) == 0 && walk.Metadata(ra, rb) is { } rootDiff)
            walk.Differences.Add($".: {rootDiff}");
        Libc.Close(a);
        Libc.Close(b);
        return new Result(walk.Entries, walk.Differences);
    }

    /// <summary>
    /// After a failed or interrupted copy: every regular file under a final name in <paramref name="actual"/> is
    /// whole and equal to its source, and no temporary is left in DEST/.actorsync/tmp (resume state in
    /// .actorsync/partial is kept on purpose). Metadata is not compared: directories get theirs only at the end.
    /// </summary>
    public static Result WholeFiles(string expected, string actual)
    {
        var differences = new List<string>();
        long files = 0;
        int a = Libc.OpenDirectoryFollowing(expected), b = Libc.OpenDirectoryFollowing(actual);
        if (b >= 0 && a >= 0) WholeFilesIn("", a, b, differences, ref files);
        if (Libc.OpenDirectoryFollowing(Path.Join(actual, RelativePath.ReservedTopLevel, "tmp")) is int tmp and >= 0)
        {
            using var listing = new DirectoryListing(tmp);
            while (listing.Next(out string name, out _)) differences.Add($"temporary left behind: .actorsync/tmp/{FileNames.Printable(name)}");
        }
        Libc.CloseQuietly(a);
        Libc.CloseQuietly(b);
        return new Result(files, differences);
    }

    private static void WholeFilesIn(string rel, int a, int b, List<string> differences, ref long files)
    {
        var names = new List<string>();
        using (var listing = new DirectoryListing(Libc.OpenDirectoryToList(b, ".")))
            while (listing.Next(out string name, out _)) names.Add(name);
        foreach (string name in names)
        {
            if (rel.Length == 0 && name == RelativePath.ReservedTopLevel) continue;
            string r = rel.Length == 0 ? name : rel + "/" + name;
            if (Libc.StatNoFollow(b, name, out var sb) != 0) continue;
            int type = sb.Mode & Libc.S_IFMT;
            if (type == Libc.S_IFDIR)
            {
                int ca = Libc.OpenDirectoryToList(a, name), cb = Libc.OpenDirectoryToList(b, name);
                if (ca < 0) differences.Add($"{FileNames.Printable(r)}: a directory the source does not have");
                else if (cb >= 0) WholeFilesIn(r, ca, cb, differences, ref files);
                Libc.CloseQuietly(ca);
                Libc.CloseQuietly(cb);
            }
            else if (type == Libc.S_IFREG)
            {
                files++;
                if (Libc.StatNoFollow(a, name, out var sa) != 0 || sa.Size != sb.Size || !Walk.SameBytes(a, b, name))
                    differences.Add($"{FileNames.Printable(r)}: not whole, or not its source's bytes");
            }
        }
    }

    private sealed class Walk(bool owners)
    {
        public readonly List<string> Differences = [];
        public long Entries;
        // Hard-link groups: an inode of the expected tree must map to one inode of the copy, and back.
        private readonly Dictionary<ulong, ulong> _forward = [], _backward = [];

        public void Directory(string rel, int a, int b)
        {
            var left = Names(a);
            var right = Names(b);
            foreach (string name in left.Except(right)) Add($"missing: {Printable(Join(rel, name))}");
            foreach (string name in right.Except(left)) Add($"unexpected: {Printable(Join(rel, name))}");
            foreach (string name in left.Intersect(right).Order(StringComparer.Ordinal))
            {
                if (Differences.Count >= MaxDifferences) return;
                Entries++;
                string r = Join(rel, name);
                if (Libc.StatNoFollow(a, name, out var sa) != 0 || Libc.StatNoFollow(b, name, out var sb) != 0) { Add($"{Printable(r)}: cannot stat"); continue; }
                if (Entry(a, b, name, sa, sb) is { } diff) { Add($"{Printable(r)}: {diff}"); continue; }
                if ((sa.Mode & Libc.S_IFMT) != Libc.S_IFDIR) continue;
                int ca = Libc.OpenDirectoryToList(a, name), cb = Libc.OpenDirectoryToList(b, name);
                if (ca >= 0 && cb >= 0) Directory(r, ca, cb);
                else Add($"{Printable(r)}: cannot open directory");
                Libc.CloseQuietly(ca);
                Libc.CloseQuietly(cb);
            }
        }

        private void Add(string difference)
        {
            if (Differences.Count < MaxDifferences) Differences.Add(difference);
        }

        private static string Join(string rel, string name) => rel.Length == 0 ? name : rel + "/" + name;

        private static string Printable(string rel) => FileNames.Printable(rel);

        private static HashSet<string> Names(int fd)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            int dup = Libc.OpenDirectoryToList(fd, ".");
            if (dup < 0) return names;
            using var listing = new DirectoryListing(dup);
            while (listing.Next(out string name, out _)) names.Add(name);
            return names;
        }

        public string? Metadata(in Libc.Statx sa, in Libc.Statx sb)
        {
            int type = sa.Mode & Libc.S_IFMT;
            if (type != (sb.Mode & Libc.S_IFMT)) return $"type {type:x} vs {sb.Mode & Libc.S_IFMT:x}";
            if (type != Libc.S_IFLNK && (sa.Mode & 0x1FF) != (sb.Mode & 0x1FF)) return $"mode {Convert.ToString(sa.Mode & 0x1FF, 8)} vs {Convert.ToString(sb.Mode & 0x1FF, 8)}";
            if (sa.Mtime.Sec != sb.Mtime.Sec || sa.Mtime.Nsec != sb.Mtime.Nsec) return $"mtime {sa.Mtime.Sec}.{sa.Mtime.Nsec:D9} vs {sb.Mtime.Sec}.{sb.Mtime.Nsec:D9}";
            if (owners && (sa.Uid != sb.Uid || sa.Gid != sb.Gid)) return $"owner {sa.Uid}:{sa.Gid} vs {sb.Uid}:{sb.Gid}";
            return null;
        }

        private string? Entry(int a, int b, string name, in Libc.Statx sa, in Libc.Statx sb)
        {
            if (Metadata(sa, sb) is { } diff) return diff;
            switch (sa.Mode & Libc.S_IFMT)
            {
                case Libc.S_IFLNK:
                    string? ta = Libc.ReadLinkAt(a, name, out _), tb = Libc.ReadLinkAt(b, name, out _);
                    return ta == tb ? null : $"link target \"{Printable(ta ?? "?")}\" vs \"{Printable(tb ?? "?")}\"";
                case Libc.S_IFCHR or Libc.S_IFBLK:
                    return sa.RdevMajor == sb.RdevMajor && sa.RdevMinor == sb.RdevMinor ? null : $"device {sa.RdevMajor}:{sa.RdevMinor} vs {sb.RdevMajor}:{sb.RdevMinor}";
                case Libc.S_IFREG:
                    if (sa.Size != sb.Size) return $"size {sa.Size} vs {sb.Size}";
                    if (sa.Nlink > 1 || sb.Nlink > 1)
                    {
                        if (_forward.TryGetValue(sa.Ino, out ulong seen) && seen != sb.Ino || _backward.TryGetValue(sb.Ino, out ulong back) && back != sa.Ino)
                            return "hard links differ (this name shares an inode on one side only)";
                        bool known = _forward.ContainsKey(sa.Ino);
                        _forward[sa.Ino] = sb.Ino;
                        _backward[sb.Ino] = sa.Ino;
                        if (known) return null;   // same inode as a name already compared byte for byte
                    }
                    return SameBytes(a, b, name) ? null : "content differs";
                default:
                    return null;
            }
        }

        public static bool SameBytes(int dirA, int dirB, string name)
        {
            const int Block = 1 << 20;
            int fa = Libc.OpenFileAt(dirA, name), fb = Libc.OpenFileAt(dirB, name);
            try
            {
                if (fa < 0 || fb < 0) return false;
                byte[] ba = new byte[Block], bb = new byte[Block];
                for (long offset = 0; ; offset += Block)
                {
                    int na = Libc.ReadFully(fa, ba, offset), nb = Libc.ReadFully(fb, bb, offset);
                    if (na < 0 || na != nb || !ba.AsSpan(0, na).SequenceEqual(bb.AsSpan(0, nb))) return false;
                    if (na == 0) return true;
                }
            }
            finally
            {
                Libc.CloseQuietly(fa);
                Libc.CloseQuietly(fb);
            }
        }
    }
}
