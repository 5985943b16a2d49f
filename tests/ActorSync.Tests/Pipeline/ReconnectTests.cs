using System.Diagnostics;
using System.Net;
using ActorSync.Engine;
using ActorSync.Tests.Support;
using Xunit;

namespace ActorSync.Tests.Pipeline;

/// <summary>
/// A stream sender whose connection fails is restarted by the transfer's parent, each time after a longer backoff
/// (min-backoff doubling, with jitter), until its retry budget is spent; then, and only then, the transfer fails.
/// </summary>
public sealed class ReconnectTests
{
    [Fact]
    public async Task A_stream_that_cannot_connect_retries_with_growing_backoff_and_fails_when_its_budget_is_spent()
    {
        using var scratch = new Scratch("backoff");
        Directory.CreateDirectory(scratch.Sub("src"));
        await File.WriteAllTextAsync(Path.Join(scratch.Sub("src"), "a"), "a");
        var options = Loopback.Options(streams: 1) with { MinBackoff = TimeSpan.FromMilliseconds(150), MaxBackoff = TimeSpan.FromSeconds(5), MaxRestarts = 3 };
        // Every connection is accepted and dropped at once: the handshake fails, a network error worth a retry.
        using var dropper = ActorSyncEngine.Listen(IPAddress.Loopback, 0);
        var accepted = new List<TimeSpan>();
        var clock = Stopwatch.StartNew();
        var sending = new ActorSyncEngine(options).SendAsync(scratch.Sub("src"), "127.0.0.1", ((IPEndPoint)dropper.LocalEndPoint!).Port, Loopback.Secret, options);
        while (!sending.IsCompleted)
        {
            var accept = dropper.AcceptAsync();
            if (await Task.WhenAny(accept, sending).WaitAsync(TimeSpan.FromSeconds(30)) != accept) break;
            accepted.Add(clock.Elapsed);
            (await accept).Dispose();
        }
        var sent = await sending.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ExitCodes.TransferFailed, sent.ExitCode);
        Assert.Contains("gave up after its restart budget", sent.Error);
        Assert.Equal(1 + options.MaxRestarts, accepted.Count);
        var gaps = accepted.Zip(accepted.Skip(1), (a, b) => b - a).ToArray();
        // Backoffs of 150, 300 and 600 ms, each within +-20%: every gap is at least its jittered minimum (a failed
        // handshake and a restart add to it, so only the lower bound is sharp).
        for (int i = 0; i < gaps.Length; i++)
            Assert.True(gaps[i] >= TimeSpan.FromMilliseconds(150 * 0.8 * (1 << i)), $"gap {i}: {string.Join(", ", gaps)}");
    }
}
