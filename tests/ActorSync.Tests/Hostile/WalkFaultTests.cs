using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Hostile;

/// <summary>
/// Problems met during the walk with entries that are not regular files (here: directories the sender may not
/// list) are reported by name and make the transfer incomplete (exit 1), and never disturb the counts: every
/// file that was sent is accounted for, by kind, on both sides. Before, each such problem was taken off the
/// announced file count, so the receiver either called it a protocol violation (exit 4, "received more entries
/// than the sender announced") or declared the transfer complete while files were still in flight.
/// </summary>
public sealed class WalkFaultTests
{
    [Theory]
    [InlineData(50, 3000, 16)]   // many unlistable directories: was exit 4 on both sides
    [InlineData(1, 300, 300)]     // one, with a large file still in flight: was "complete" too early, wrong counts
    public async Task Unlistable_directories_are_reported_and_every_sent_file_is_counted(int locked, int smallFiles, int largeMiB)
    {
        using var scratch = new Scratch("walkfault");
        string src = scratch.Sub("src"), dst = scratch.Sub("dst");
        var (files, bytes) = TreeGenerator.Generate(src, new TreeSpec { SmallFiles = smallFiles, MaxSmallFileBytes = 2048, LargeFileBytes = (long)largeMiB << 20, Oddities = false });
        for (int i = 0; i < locked; i++)
        {
            string dir = Path.Join(src, $"locked{i:D2}");
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Join(dir, "inside"), "root only");
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED);
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "walk-fault-secret-0123456789abcdef");
        File.SetUnixFileMode(key, (UnixFileMode)0x1A4);
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", dst, "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--json"]);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", "--secret-file", key, "--json"],
            new Dictionary<string, string> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" }, asUser: "65534", TimeSpan.FromMinutes(2));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));

        Assert.True(send.ExitCode == ExitCodes.TransferFailed, send.Stderr);
        Assert.True(received.ExitCode == ExitCodes.TransferFailed, received.Stderr);
        using var s = JsonDocument.Parse(send.Stdout);
        using var r = JsonDocument.Parse(received.Stdout);
        Assert.Equal(files, s.RootElement.GetProperty("files").GetInt64());
        Assert.Equal(files, r.RootElement.GetProperty("files").GetInt64());
        Assert.Equal(bytes, r.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(locked, s.RootElement.GetProperty("files_failed").GetInt64());
        var problems = s.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(0, locked).Select(i => $"locked{i:D2}: cannot list directory: Permission denied").ToArray(), problems);
        Assert.Contains($"the sender could not read {(locked == 1 ? "1 entry" : $"{locked} entries")}", received.Stderr);

        // The receiver names them too.
        var receiverProblems = r.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(Enumerable.Range(0, locked).Select(i => $"locked{i:D2}: not sent: cannot list directory: Permission denied").ToArray(), receiverProblems);

        // Everything readable arrived. The unlistable directories exist, empty, with their modes; their contents
        // are not complete, so they do not get the source's mtime (which would make them look finished).
        Assert.False(Directory.Exists(Path.Join(dst, ".actorsync")), "work area left behind");
        for (int i = 0; i < locked; i++)
        {
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(dst, $"locked{i:D2}")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Join(dst, $"locked{i:D2}")));
        }
        var differences = TreeComparer.Compare(src, dst).Differences
            .Where(d => !(d.StartsWith("missing: locked", StringComparison.Ordinal) && d.EndsWith("/inside", StringComparison.Ordinal)))
            .Where(d => !(d.StartsWith("locked", StringComparison.Ordinal) && d.Contains(": mtime ", StringComparison.Ordinal)))
            .ToList();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }
}
