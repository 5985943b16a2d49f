using System.Diagnostics;

namespace ActorSync.Tests.Support;

/// <summary>Runs the real actorsync CLI (the Host project's build output) as a child process.</summary>
public static class Cli
{
    public static string Dll => Path.Join(AppContext.BaseDirectory, "actorsync.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Process Start(IEnumerable<string> args, IDictionary<string, string>? env = null, string? asUser = null)
    {
        var psi = new ProcessStartInfo(asUser is null ? "dotnet" : "setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (asUser is not null)
        {
            foreach (string a in new[] { $"--reuid={asUser}", $"--regid={asUser}", "--clear-groups", "dotnet" }) psi.ArgumentList.Add(a);
        }
        psi.ArgumentList.Add(Dll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("ACTORSYNC_SECRET");
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    public static async Task<Result> RunAsync(params string[] args) => await RunAsync(args, null, null, TimeSpan.FromMinutes(2));

    public static async Task<Result> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env, string? asUser, TimeSpan timeout)
    {
        using var p = Start(args, env, asUser);
        return await WaitAsync(p, timeout);
    }

    public static int FreePort()
    {
        using var s = ActorSync.ActorSyncEngine.Listen(System.Net.IPAddress.Loopback, 0);
        return ((System.Net.IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Waits until a receiver listens on <paramref name="port"/>, looking at the listen table: a probing
    /// connect would count as a peer that failed to authenticate.</summary>
    public static async Task WaitForListenerAsync(int port)
    {
        for (int i = 0; i < 200; i++)
        {
            try
            {
                if (File.ReadAllText("/proc/net/tcp").Contains($":{port:X4} 00000000:0000 0A", StringComparison.Ordinal)) return;
            }
            catch (IOException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"nothing listens on {port}");
    }

    public static async Task<Result> WaitAsync(Process p, TimeSpan timeout)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"actorsync did not exit within {timeout}: {await stderr}");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }
}
