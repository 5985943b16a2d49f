using System.Net;
using System.Text.Json;
using ActorSync.Engine;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.CommandLine;

/// <summary>The real CLI as a user runs it: arguments, exit statuses, keygen, demo, --json.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("send")]
    [InlineData("send", "/nonexistent-src", "host-without-port")]
    [InlineData("recv", "/tmp/x")]
    [InlineData("recv", "/tmp/x", "--listen", "notaport")]
    [InlineData("recv", "/tmp/x", "--listen", "localhost:9999", "--secret", "abcdefabcdefabcdefabcdefabcdef")]
    [InlineData("send", "/tmp", "127.0.0.1:9", "--streams", "many")]
    [InlineData("send", "/tmp", "127.0.0.1:9")]
    [InlineData("send", "/nonexistent-src", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdefabcdef")]
    [InlineData("send", "/tmp", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdef", "--cipher", "rot13")]
    [InlineData("frobnicate")]
    [InlineData("send", "/tmp", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdef", "--exclude", "[ab")]
    [InlineData("send", "/tmp", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdef", "--exclude-from", "/nonexistent-rules")]
    [InlineData("send", "/tmp", "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdef", "--files-from", "/nonexistent-list")]
    public async Task Bad_usage_gets_one_line_and_exit_2(params string[] args)
    {
        var r = await Cli.RunAsync(args);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        string[] lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("actorsync: ", StringComparison.Ordinal));
        Assert.Empty(r.Stdout);
    }

    [Theory]
    [InlineData("actorsync {\n  transfer { streams = \n", "actorsync.transfer.streams: no value")]
    [InlineData("actorsync.transfer.streams = 4\n@oops = 1\n", "bad.hocon:2:1: Unknown token")]
    [InlineData("actorsync.transfer.streams = ${actorsync.transfer.nope}\n", "Unresolved substitution: actorsync.transfer.nope")]
    [InlineData("actorsync.transfer.stream = 4\n", "actorsync.transfer.stream: not a setting of ActorSync")]
    [InlineData("actorsync.transfer { streams 4 }\n", "actorsync.transfer.streams 4: not a setting of ActorSync")]
    public async Task A_malformed_config_file_is_a_usage_error_in_one_line_naming_the_key_or_the_line(string text, string message)
    {
        using var scratch = new Scratch("badconf");
        string conf = scratch.Sub("bad.hocon");
        await File.WriteAllTextAsync(conf, text);
        var r = await Cli.RunAsync("send", scratch.Path, "127.0.0.1:9", "--secret", "abcdefabcdefabcdefabcdefabcdef", "--config", conf);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("actorsync: configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    /// <summary>Was: .NET's ReuseAddress sets SO_REUSEPORT on Linux, so a second receiver bound the same port and the
    /// kernel split a transfer's streams between the two.</summary>
    [Fact]
    public async Task A_second_receiver_on_a_port_in_use_exits_2_instead_of_sharing_it()
    {
        using var scratch = new Scratch("portinuse");
        int port = Cli.FreePort();
        using var first = Cli.Start(["recv", scratch.Sub("a"), "--listen", $"127.0.0.1:{port}", "--secret", "abcdefabcdefabcdefabcdefabcdef"]);
        await Cli.WaitForListenerAsync(port);
        var second = await Cli.RunAsync("recv", scratch.Sub("b"), "--listen", $"127.0.0.1:{port}", "--secret", "abcdefabcdefabcdefabcdefabcdef");
        first.Kill(entireProcessTree: true);
        Assert.Equal(ExitCodes.Usage, second.ExitCode);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}: Address already in use", second.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(scratch.Sub("b")));
    }

    [Fact]
    public async Task Keygen_writes_a_private_256_bit_secret_and_refuses_to_overwrite()
    {
        using var scratch = new Scratch("keygen");
        string key = scratch.Sub("key");
        var r = await Cli.RunAsync("keygen", key);
        Assert.Equal(0, r.ExitCode);
        string text = (await File.ReadAllTextAsync(key)).Trim();
        Assert.Matches("^[0-9a-f]{64}$", text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        var again = await Cli.RunAsync("keygen", key);
        Assert.Equal(ExitCodes.Usage, again.ExitCode);
        Assert.Equal(text, (await File.ReadAllTextAsync(key)).Trim());
    }

    [Fact]
    public async Task Demo_generates_sends_verifies_and_exits_0()
    {
        var r = await Cli.RunAsync(["demo", "--files", "300", "--large-mib", "4", "--streams", "3"], null, null, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("identical", r.Stderr);
        Assert.Contains("over 3 streams", r.Stderr);
    }

    [Fact]
    public async Task Separate_processes_copy_a_tree_and_report_json_on_both_sides()
    {
        using var scratch = new Scratch("cli");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 200, LargeFileBytes = 2 << 20 });
        string key = scratch.Sub("key");
        Assert.Equal(0, (await Cli.RunAsync("keygen", key)).ExitCode);
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--json"]);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--streams", "4", "--json"], null, null, TimeSpan.FromMinutes(2));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0, send.Stderr);
        Assert.True(received.ExitCode == 0, received.Stderr);
        using var s = JsonDocument.Parse(send.Stdout);
        using var d = JsonDocument.Parse(received.Stdout);
        Assert.Equal(s.RootElement.GetProperty("files").GetInt64(), d.RootElement.GetProperty("files").GetInt64());
        Assert.Equal(4, s.RootElement.GetProperty("streams").GetInt32());
        Assert.Equal("user", s.RootElement.GetProperty("crypto").GetString());
        Assert.True(s.RootElement.GetProperty("payload_bytes_sent").GetInt64() >= 2 << 20);
        foreach (string field in new[] { "dirs", "bytes", "files_skipped", "elapsed_s" }) Assert.True(s.RootElement.TryGetProperty(field, out _), field);
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    [Fact]
    public async Task Environment_secret_works_and_a_wrong_one_exits_3_on_both_sides()
    {
        using var scratch = new Scratch("envkey");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 10, LargeFileBytes = 0, Oddities = false });
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}"], new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "receiver-secret-0123456789abcdef" });
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}"], new Dictionary<string, string> { ["ACTORSYNC_SECRET"] = "another-secret-0123456789abcdef" }, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.AuthenticationFailed, send.ExitCode);
        Assert.Equal(ExitCodes.AuthenticationFailed, received.ExitCode);
        Assert.Contains("authentication failed", send.Stderr);
        Assert.False(Directory.Exists(scratch.Sub("dst")));
    }

    /// <summary>Root reads anything, so the sender runs as nobody to meet a file it may not read.</summary>
    [Fact]
    public async Task An_unreadable_source_file_is_reported_skipped_and_the_rest_copied_with_exit_1()
    {
        using var scratch = new Scratch("unreadable");
        string src = scratch.Sub("src");
        TreeGenerator.Generate(src, new TreeSpec { SmallFiles = 50, LargeFileBytes = 1 << 20, Oddities = false });
        await File.WriteAllTextAsync(Path.Join(src, "secret.txt"), "for root only");
        File.SetUnixFileMode(Path.Join(src, "secret.txt"), UnixFileMode.None);
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "nobody-can-read-this-0123456789abcdef");
        File.SetUnixFileMode(key, (UnixFileMode)0x1A4);
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED);
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key]);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", src, $"127.0.0.1:{port}", "--secret-file", key, "--json"],
            new Dictionary<string, string> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" }, asUser: "65534", TimeSpan.FromMinutes(2));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == ExitCodes.TransferFailed, send.Stderr);
        // DEST is not a complete copy, and the receiver says so too.
        Assert.Equal(ExitCodes.TransferFailed, received.ExitCode);
        Assert.Contains("the sender could not read 1 entry", received.Stderr);
        Assert.Contains("secret.txt", send.Stderr);
        using var json = JsonDocument.Parse(send.Stdout);
        Assert.Equal(1, json.RootElement.GetProperty("files_failed").GetInt64());
        Assert.Equal("secret.txt: Permission denied", Assert.Single(json.RootElement.GetProperty("problems").EnumerateArray()).GetString());
        Assert.False(File.Exists(Path.Join(scratch.Sub("dst"), "secret.txt")));
        File.Delete(Path.Join(src, "secret.txt"));
        Assert.True(TreeComparer.Compare(src, scratch.Sub("dst")).Identical);
    }

    /// <summary>Was ignored: a receiver started with --cipher accepted any cipher.</summary>
    [Fact]
    public async Task A_receiver_given_a_cipher_refuses_the_other_with_exit_2_on_both_sides()
    {
        using var scratch = new Scratch("cipher");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 10, LargeFileBytes = 0, Oddities = false });
        string key = scratch.Sub("key");
        await File.WriteAllTextAsync(key, "cipher-test-secret-0123456789abcdef");
        int port = Cli.FreePort();
        using var recv = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--cipher", "aes-256-gcm"]);
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key], null, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.Usage, send.ExitCode);
        Assert.Contains("the receiver does not accept cipher AES-128-GCM; it takes AES-256-GCM only (use --cipher aes-256-gcm)", send.Stderr);
        Assert.Equal(ExitCodes.Usage, received.ExitCode);
        Assert.False(Directory.Exists(scratch.Sub("dst")));

        using var again = Cli.Start(["recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key, "--cipher", "aes-256-gcm", "--json"]);
        await Cli.WaitForListenerAsync(port);
        var matching = await Cli.RunAsync(["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--cipher", "aes-256-gcm"], null, null, TimeSpan.FromMinutes(1));
        var ok = await Cli.WaitAsync(again, TimeSpan.FromMinutes(1));
        Assert.True(matching.ExitCode == 0, matching.Stderr);
        Assert.Equal("AES-256-GCM", JsonDocument.Parse(ok.Stdout).RootElement.GetProperty("cipher").GetString());
    }

    /// <summary>
    /// --fsync makes "committed" mean durable: one syncfs of DEST's filesystem before the receiver confirms, seen
    /// by strace; without it, none (the default promise, as rsync's: in the page cache, safe from a crash of
    /// either process, not from a power loss).
    /// </summary>
    [Theory]
    [InlineData("send")]
    [InlineData("recv")]
    [InlineData(null)]
    public async Task Fsync_syncs_dest_once_before_confirming_and_not_without_it(string? side)
    {
        using var scratch = new Scratch("fsync");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 200, LargeFileBytes = 1 << 20, Oddities = false });
        string key = scratch.Sub("key"), trace = scratch.Sub("trace");
        await File.WriteAllTextAsync(key, "fsync-test-secret-0123456789abcdef");
        int port = Cli.FreePort();
        var recvArgs = new List<string> { "-f", "-qq", "-e", "trace=syncfs,sendto", "-o", trace, "dotnet", Cli.Dll, "recv", scratch.Sub("dst"), "--listen", $"127.0.0.1:{port}", "--secret-file", key };
        if (side == "recv") recvArgs.Add("--fsync");
        var psi = new System.Diagnostics.ProcessStartInfo("strace") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in recvArgs) psi.ArgumentList.Add(a);
        using var recv = System.Diagnostics.Process.Start(psi)!;
        await Cli.WaitForListenerAsync(port);
        var send = await Cli.RunAsync(side == "send" ? ["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key, "--fsync"] : ["send", scratch.Sub("src"), $"127.0.0.1:{port}", "--secret-file", key],
            null, null, TimeSpan.FromMinutes(1));
        var received = await Cli.WaitAsync(recv, TimeSpan.FromMinutes(1));
        Assert.True(send.ExitCode == 0 && received.ExitCode == 0, send.Stderr + received.Stderr);
        string[] calls = await File.ReadAllLinesAsync(trace);
        int syncs = calls.Count(l => l.Contains("syncfs(", StringComparison.Ordinal));
        Assert.Equal(side is null ? 0 : 1, syncs);
        if (side is not null)
        {
            // Before the DoneAck: the last sends (DoneAck, close_notify) come after the syncfs.
            int sync = Array.FindIndex(calls, l => l.Contains("syncfs(", StringComparison.Ordinal));
            Assert.Contains(calls.Skip(sync), l => l.Contains("sendto(", StringComparison.Ordinal));
        }
    }
}
