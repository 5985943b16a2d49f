using System.Text;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Host.Demo;

/// <summary>What a generated tree holds. The defaults are the demo's; tests ask for other shapes.</summary>
internal sealed record TreeSpec
{
    public int SmallFiles { get; init; } = 2000;
    public int MaxSmallFileBytes { get; init; } = 16 << 10;
    public int Directories { get; init; } = 20;
    public int EmptyFiles { get; init; } = 5;
    public long LargeFileBytes { get; init; } = 64L << 20;
    public int EmptyDirectories { get; init; } = 3;
    /// <summary>Symlinks (relative, dangling, absolute pointing outside), unicode and space names, odd modes.</summary>
    public bool Oddities { get; init; } = true;
    public int Seed { get; init; } = 42;
}

/// <summary>Writes a deterministic tree of pseudo-random, incompressible files with varied modes and mtimes.</summary>
internal static class TreeGenerator
{
    public static (long Files, long Bytes) Generate(string root, TreeSpec spec)
    {
        var rng = new Random(spec.Seed);
        Directory.CreateDirectory(root);
        long files = 0, bytes = 0;
        var dirs = new List<string>();
        for (int d = 0; d < spec.Directories; d++)
        {
            string dir = d % 4 == 3 && dirs.Count > 0 ? Path.Join(dirs[rng.Next(dirs.Count)], $"sub{d:D3}") : Path.Join(root, $"dir{d:D3}");
            Directory.CreateDirectory(dir);
            dirs.Add(dir);
        }
        if (dirs.Count == 0) dirs.Add(root);
        byte[] buffer = new byte[Math.Max(spec.MaxSmallFileBytes, 1 << 20)];
        for (int i = 0; i < spec.SmallFiles; i++)
        {
            int size = rng.Next(0, spec.MaxSmallFileBytes + 1);
            rng.NextBytes(buffer.AsSpan(0, size));
            string path = Path.Join(dirs[i % dirs.Count], $"file{i:D6}.bin");
            File.WriteAllBytes(path, buffer.AsSpan(0, size).ToArray());
            SetTimes(path, rng);
            files++;
            bytes += size;
        }
        for (int i = 0; i < spec.EmptyFiles; i++)
        {
            string path = Path.Join(dirs[rng.Next(dirs.Count)], $"empty{i}");
            File.WriteAllBytes(path, []);
            SetTimes(path, rng);
            files++;
        }
        if (spec.LargeFileBytes > 0)
        {
            string path = Path.Join(root, "large.bin");
            using (var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                for (long left = spec.LargeFileBytes; left > 0;)
                {
                    int n = (int)Math.Min(left, buffer.Length);
                    rng.NextBytes(buffer.AsSpan(0, n));
                    f.Write(buffer, 0, n);
                    left -= n;
                }
            }
            SetTimes(path, rng);
            files++;
            bytes += spec.LargeFileBytes;
        }
        for (int i = 0; i < spec.EmptyDirectories; i++)
            Directory.CreateDirectory(Path.Join(root, $"empty-dir-{i}", i % 2 == 0 ? "" : "nested-empty"));
        if (spec.Oddities) (files, bytes) = AddOddities(root, rng, files, bytes);
        foreach (string dir in Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Reverse()) SetTimes(dir, rng);
        return (files, bytes);
    }

    private static (long, long) AddOddities(string root, Random rng, long files, long bytes)
    {
        string odd = Path.Join(root, "odd names");
        Directory.CreateDirectory(odd);
        // Names are bytes: latin-1 "café" and "cafè" (not UTF-8 at all), newline, tab, backslash, colon, unicode.
        string latin1E = FileNames.Decode(Encoding.Latin1.GetBytes("caf\u00e9.txt")), latin1Grave = FileNames.Decode(Encoding.Latin1.GetBytes("caf\u00e8.txt"));
        foreach (string name in new[] { "données.txt", "日本語のファイル.txt", "emoji 😀.bin", "with  two spaces", "-leading-dash", ".hidden", "trailing space ",
                     latin1E, latin1Grave, "line\nbreak", "tab\there", "back\\slash", "colon:name" })
        {
            byte[] content = Encoding.UTF8.GetBytes($"{FileNames.Printable(name)} {rng.Next()}\n");
            WriteFile(odd, name, content);
            SetTimes(Path.Join(odd, name), rng);
            files++;
            bytes += content.Length;
        }
        string modes = Path.Join(root, "modes");
        Directory.CreateDirectory(modes);
        foreach (var (name, mode) in new[] { ("read-only", 0x124 /*0444*/), ("exec", 0x1ED /*0755*/), ("private", 0x180 /*0600*/), ("group-write", 0x1B4 /*0664*/), ("odd", 0x141 /*0501*/) })
        {
            string path = Path.Join(modes, name);
            File.WriteAllBytes(path, Encoding.ASCII.GetBytes(name));
            File.SetUnixFileMode(path, (UnixFileMode)mode);
            SetTimes(path, rng);
            files++;
            bytes += name.Length;
        }
        string locked = Path.Join(modes, "read-only-dir");
        Directory.CreateDirectory(locked);
        File.WriteAllBytes(Path.Join(locked, "inside"), "inside a 0555 directory"u8.ToArray());
        files++;
        bytes += 23;
        File.SetUnixFileMode(locked, (UnixFileMode)0x16D /*0555*/);

        string links = Path.Join(root, "links");
        Directory.CreateDirectory(links);
        File.CreateSymbolicLink(Path.Join(links, "to-large"), "../large.bin");
        File.CreateSymbolicLink(Path.Join(links, "dangling"), "does/not/exist");
        File.CreateSymbolicLink(Path.Join(links, "outside"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Join(links, "to-dir"), "../modes");
        foreach (string link in Directory.EnumerateFileSystemEntries(links)) SetTimes(link, rng);
        return (files, bytes);
    }

    /// <summary>
    /// Deletes a generated or received tree: byte-exact names (not all of them UTF-8), paths deeper than PATH_MAX,
    /// and read-only or unreadable directories (made accessible on the way), all by directory descriptor.
    /// </summary>
    public static void Remove(string root)
    {
        if (Libc.StatNoFollow(Libc.AT_FDCWD, root, out var st) != 0) return;
        if ((st.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
        {
            Libc.SetModeAt(Libc.AT_FDCWD, root, 0x1C0);
            int fd = Libc.OpenDirectoryToList(Libc.AT_FDCWD, root);
            if (fd >= 0)
            {
                Empty(fd);
                Libc.Close(fd);
            }
            Libc.RemoveDirectory(Libc.AT_FDCWD, root);
        }
        else Libc.Unlink(Libc.AT_FDCWD, root);
    }

    private static void Empty(int dirFd)
    {
        var names = new List<string>();
        int listFd = Libc.OpenDirectoryToList(dirFd, ".");
        if (listFd < 0) return;
        using (var listing = new ActorSync.Transport.Interop.DirectoryListing(listFd))
            while (listing.Next(out string name, out _)) names.Add(name);
        foreach (string name in names)
        {
            if (Libc.StatNoFollow(dirFd, name, out var st) == 0 && (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
            {
                Libc.SetModeAt(dirFd, name, 0x1C0);
                int child = Libc.OpenDirectoryToList(dirFd, name);
                if (child >= 0)
                {
                    Empty(child);
                    Libc.Close(child);
                }
                Libc.RemoveDirectory(dirFd, name);
            }
            else Libc.Unlink(dirFd, name);
        }
    }

    /// <summary>Creates a file whose name may be any bytes (see FileNames), which .NET's file APIs cannot spell.</summary>
    public static void WriteFile(string directory, string name, ReadOnlySpan<byte> content)
    {
        int dir = Libc.OpenDirectoryFollowing(directory);
        if (dir < 0) throw new IOException($"cannot open {directory}: {Libc.Describe(Libc.LastErrno)}");
        try
        {
            int fd = Libc.CreateExclusive(dir, name, 0x1A4);
            if (fd < 0) throw new IOException($"cannot create {FileNames.Printable(name)}: {Libc.Describe(Libc.LastErrno)}");
            int errno = Libc.WriteFully(fd, content, 0);
            Libc.Close(fd);
            if (errno != 0) throw new IOException($"cannot write {FileNames.Printable(name)}: {Libc.Describe(errno)}");
        }
        finally
        {
            Libc.Close(dir);
        }
    }

    /// <summary>mtime with nanoseconds (what rsync -a keeps), set without following symlinks.</summary>
    private static void SetTimes(string path, Random rng)
    {
        long sec = 1_500_000_000 + rng.Next(0, 200_000_000);
        uint nsec = (uint)rng.Next(0, 1_000_000_000);
        Libc.SetModificationTimeAt(Libc.AT_FDCWD, path, sec, nsec);
    }
}
