using System.Text;
using ActorSync.Host.Demo;
using ActorSync.Transport.Frames;
using ActorSync.Transport.Interop;

namespace ActorSync.Tests.Support;

/// <summary>
/// A tree shaped like the awkward corners of real datasets: names that are not UTF-8 and names with newlines,
/// backslashes and colons; hard links across directories (one of them a multi-range file); sparse files; a path
/// near PATH_MAX; a directory of many entries; mode 0000 and odd directory modes; nanosecond mtimes; a symlink
/// loop and a dangling link; and, as root, foreign owners, a device, a FIFO and a socket; extended attributes
/// where the filesystem takes them.
/// </summary>
public static class EdgeTree
{
    public sealed record Spec
    {
        /// <summary>Entries of the one wide directory.</summary>
        public int WideEntries { get; init; } = 20_000;
        public long SparseBytes { get; init; } = 1L << 30;
    }

    public sealed record Facts(long Files, long HardLinks, long DataBytes, bool Root, bool Attributes, long SparseBytes);

    public static string Latin1(string text) => FileNames.Decode(Encoding.Latin1.GetBytes(text));

    public static Facts Generate(string root, Spec? spec = null)
    {
        spec ??= new Spec();
        var rng = new Random(7);
        bool isRoot = Libc.IsRoot;
        long files = 0, links = 0, data = 0;
        Directory.CreateDirectory(root);

        // Names are bytes.
        string names = Dir(root, "names");
        foreach (string name in new[] { Latin1("caf\u00e9.txt"), Latin1("caf\u00e8.txt"), Latin1("\u00ff\u00fe"), "new\nline", "back\\slash", "colon:x", "tab\tx",
                     "ctrl\u0001x", "quote\"x", " leading space", "-dash", "日本語", "emoji 😀", new string('n', 255), FileNames.Decode([0xED, 0xA0, 0x80]) })
        {
            data += Write(names, name, rng, 40);
            files++;
        }

        // Hard links across directories, one of them big enough to travel in several ranges.
        string a = Dir(root, "links/a"), b = Dir(root, "links/b"), c = Dir(root, "links/c");
        data += Write(a, "shared.bin", rng, 5000);
        files++;
        Link(a, "shared.bin", b, "same.bin");
        Link(a, "shared.bin", c, Latin1("m\u00eame.bin"));
        links += 2;
        data += Write(a, "large-shared.bin", rng, 3 << 20);
        files++;
        Link(a, "large-shared.bin", b, "large-again.bin");
        links++;

        // Sparse files: 12 KiB of data in a large file (data at the start, middle and end), and one ending in a hole.
        data += Sparse(root, "sparse.bin", spec.SparseBytes, [0, spec.SparseBytes / 2, spec.SparseBytes - 4096], rng);
        data += Sparse(root, "sparse-tail.bin", 64L << 20, [0], rng);
        files += 2;

        // A relative path near PATH_MAX (4096): 16 directories of 250 bytes, then a file.
        string deep = Path.Join(root, "deep");
        Directory.CreateDirectory(deep);
        int dirFd = Libc.OpenDirectoryFollowing(deep);
        string relative = "deep";
        for (int i = 0; i < 16; i++)
        {
            string component = $"{i:D2}" + new string('d', 248);
            Libc.MakeDirectory(dirFd, component, 0x1ED);
            int next = Libc.OpenDirectoryToList(dirFd, component);
            Libc.Close(dirFd);
            dirFd = next;
            relative += "/" + component;
        }
        string leaf = new('f', 4090 - FileNames.GetByteCount(relative) - 1);
        int leafFd = Libc.CreateExclusive(dirFd, leaf, 0x1A4);
        Libc.WriteFully(leafFd, "at the bottom"u8, 0);
        Libc.Close(leafFd);
        Libc.Close(dirFd);
        data += 13;
        files++;

        // One directory of many entries.
        string wide = Dir(root, "wide");
        for (int i = 0; i < spec.WideEntries; i++)
        {
            data += Write(wide, $"e{i:D6}", rng, rng.Next(0, 100));
            files++;
        }

        // Modes, including none at all; directories read-only, execute-only, unlistable.
        string modes = Dir(root, "modes");
        foreach (var (name, mode) in new[] { ("none", 0), ("r", 0x124), ("x", 0x1ED), ("w-only", 0x80) })
        {
            data += Write(modes, name, rng, 10);
            Libc.SetModeAt(Libc.AT_FDCWD, Path.Join(modes, name), (uint)mode);
            files++;
        }
        foreach (var (name, mode) in new[] { ("dir-0500", 0x140), ("dir-0711", 0x1C9), ("dir-0555", 0x16D), ("dir-0000", 0) })
        {
            string d = Dir(modes, name);
            data += Write(d, "inside", rng, 20);
            files++;
            Libc.SetModeAt(Libc.AT_FDCWD, d, (uint)mode);
        }

        // Symlinks: a loop, dangling, absolute, and a target that is not UTF-8.
        string symlinks = Dir(root, "symlinks");
        File.CreateSymbolicLink(Path.Join(symlinks, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Join(symlinks, "loop-b"), "loop-a");
        File.CreateSymbolicLink(Path.Join(symlinks, "dangling"), "no/such/file");
        File.CreateSymbolicLink(Path.Join(symlinks, "absolute"), "/etc/hostname");
        int symFd = Libc.OpenDirectoryFollowing(symlinks);
        Libc.CreateSymlink("../names/" + Latin1("caf\u00e9.txt"), symFd, Latin1("to-caf\u00e9"));
        Libc.Close(symFd);

        // Special files and owners need root to make (a FIFO or socket does not, but rsync -D goes with devices).
        if (isRoot)
        {
            string special = Dir(root, "special");
            int fd = Libc.OpenDirectoryFollowing(special);
            Libc.MakeNode(fd, "fifo", (uint)Libc.S_IFIFO | 0x1A4, 0, 0);
            Libc.MakeNode(fd, "socket", (uint)Libc.S_IFSOCK | 0x1ED, 0, 0);
            Libc.MakeNode(fd, "null-device", (uint)Libc.S_IFCHR | 0x1B6, 1, 3);
            Libc.MakeNode(fd, "block-device", (uint)Libc.S_IFBLK | 0x180, 7, 200);
            Libc.Close(fd);
            Libc.SetOwnerAt(Libc.AT_FDCWD, Path.Join(names, "colon:x"), 1234, 5678);
            Libc.SetOwnerAt(Libc.AT_FDCWD, Path.Join(modes, "r"), 4321, 0);
            Libc.SetOwnerAt(Libc.AT_FDCWD, Path.Join(symlinks, "dangling"), 1001, 1002);
            Libc.SetOwnerAt(Libc.AT_FDCWD, Path.Join(root, "links"), 2000, 2001);
            Libc.SetOwnerAt(Libc.AT_FDCWD, Path.Join(special, "fifo"), 3000, 3001);
        }

        bool attributes = SetAttribute(Path.Join(names, "colon:x"), "user.checksum", "sha256:abc"u8)
                          && SetAttribute(Path.Join(root, "links"), "user.origin", "scraper-7"u8)
                          && SetAttribute(Path.Join(a, "large-shared.bin"), "user.empty", [])
                          // Names are bytes too: two that UTF-8 decoding would fold into one "user.\uFFFD".
                          && SetRawAttribute(Path.Join(names, "colon:x"), [.. "user.raw-"u8, 0xFF], "ff"u8.ToArray())
                          && SetRawAttribute(Path.Join(names, "colon:x"), [.. "user.raw-"u8, 0xFE], "fe"u8.ToArray());

        // Nanosecond mtimes on everything, directories last and deepest first (their contents are complete).
        SetTimes(root, rng);
        return new Facts(files, links, data, isRoot, attributes, spec.SparseBytes);
    }

    private static string Dir(string root, string relative)
    {
        string path = Path.Join(root, relative);
        Directory.CreateDirectory(path);
        return path;
    }

    private static long Write(string dir, string name, Random rng, int size)
    {
        byte[] content = new byte[size];
        rng.NextBytes(content);
        TreeGenerator.WriteFile(dir, name, content);
        return size;
    }

    private static void Link(string fromDir, string fromName, string toDir, string toName)
    {
        int from = Libc.OpenDirectoryFollowing(fromDir), to = Libc.OpenDirectoryFollowing(toDir);
        try
        {
            if (Libc.Link(from, fromName, to, toName) != 0) throw new IOException($"link: {Libc.Describe(Libc.LastErrno)}");
        }
        finally
        {
            Libc.Close(from);
            Libc.Close(to);
        }
    }

    /// <summary>A file of <paramref name="size"/> bytes with 4 KiB of data at each offset and holes elsewhere.</summary>
    private static long Sparse(string dir, string name, long size, long[] dataAt, Random rng)
    {
        string path = Path.Join(dir, name);
        using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        f.SetLength(size);
        byte[] block = new byte[4096];
        foreach (long at in dataAt)
        {
            rng.NextBytes(block);
            f.Position = at;
            f.Write(block);
        }
        return 4096L * dataAt.Length;
    }

    /// <summary>setxattr(2) with the name as given bytes: independent of the product's name codec.</summary>
    private static bool SetRawAttribute(string path, byte[] name, byte[] value) =>
        setxattr(Encoding.UTF8.GetBytes(path + "\0"), [.. name, 0], value, (nuint)value.Length, 0) == 0;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int setxattr(byte[] path, byte[] name, byte[] value, nuint size, int flags);

    private static bool SetAttribute(string path, string name, ReadOnlySpan<byte> value)
    {
        int fd = Libc.OpenDirectoryFollowing(path);
        if (fd < 0) fd = Libc.OpenForRead(path);
        if (fd < 0) return false;
        int errno = Libc.WriteAttribute(fd, name, value);
        Libc.Close(fd);
        return errno == 0;
    }

    /// <summary>Sets random nanosecond mtimes below <paramref name="dirPath"/>, each directory after its contents.</summary>
    private static void SetTimes(string dirPath, Random rng)
    {
        int fd = Libc.OpenDirectoryFollowing(dirPath);
        if (fd < 0)
        {
            // A directory made unreadable (mode 0000): open it up, set what is inside, close it again.
            Libc.StatNoFollow(Libc.AT_FDCWD, dirPath, out var locked);
            Libc.SetModeAt(Libc.AT_FDCWD, dirPath, 0x1C0);
            SetTimes(dirPath, rng);
            Libc.SetModeAt(Libc.AT_FDCWD, dirPath, (uint)locked.Mode & 0xFFF);
            Stamp(Libc.AT_FDCWD, dirPath, rng);
            return;
        }
        SetTimesIn(fd, rng);
        Libc.Close(fd);
        Stamp(Libc.AT_FDCWD, dirPath, rng);
    }

    private static void SetTimesIn(int fd, Random rng)
    {
        var names = new List<string>();
        using (var listing = new DirectoryListing(Libc.OpenDirectoryToList(fd, ".")))
            while (listing.Next(out string name, out _)) names.Add(name);
        foreach (string name in names.Order(StringComparer.Ordinal))
        {
            Libc.StatNoFollow(fd, name, out var st);
            if ((st.Mode & Libc.S_IFMT) == Libc.S_IFDIR)
            {
                uint mode = (uint)st.Mode & 0xFFF;
                bool locked = (mode & 0x1C0) != 0x1C0 && !Libc.IsRoot;
                if (locked) Libc.SetModeAt(fd, name, mode | 0x1C0);
                int child = Libc.OpenDirectoryToList(fd, name);
                if (child >= 0)
                {
                    SetTimesIn(child, rng);
                    Libc.Close(child);
                }
                if (locked) Libc.SetModeAt(fd, name, mode);
            }
            Stamp(fd, name, rng);
        }
    }

    private static void Stamp(int fd, string name, Random rng) =>
        Libc.SetModificationTimeAt(fd, name, 1_400_000_000 + rng.Next(0, 300_000_000), (uint)rng.Next(0, 1_000_000_000));
}
