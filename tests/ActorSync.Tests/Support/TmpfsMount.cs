using System.Diagnostics;

namespace ActorSync.Tests.Support;

/// <summary>
/// A small tmpfs mounted at a directory, for a destination that really fills up (ENOSPC from the kernel, not
/// a simulated one). Needs root, as CI has; elsewhere the test fails saying so rather than passing untested.
/// </summary>
public sealed class TmpfsMount : IDisposable
{
    /// <param name="inodes">A cap on inodes (files and directories), to run out of those instead of bytes.</param>
    public TmpfsMount(string path, int sizeMiB, int? inodes = null)
    {
        Path = path;
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={sizeMiB}m,mode=0755{(inodes is { } n ? $",nr_inodes={n}" : "")}", "actorsync-test", path);
    }

    public string Path { get; }

    private TmpfsMount(string path) => Path = path;

    /// <summary>A bind mount of <paramref name="source"/> over the (existing) <paramref name="path"/>.</summary>
    public static TmpfsMount Bind(string source, string path)
    {
        Run("mount", "--bind", source, path);
        return new TmpfsMount(path);
    }

    /// <summary>Grows (or shrinks) the filesystem in place: "space is freed" without touching its files.</summary>
    public void Resize(int sizeMiB) => Run("mount", "-o", $"remount,size={sizeMiB}m", Path);

    public void Dispose() => Run("umount", "-l", Path);

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({err.Trim()}); this test needs root to mount");
    }
}
