using System.Diagnostics;

namespace ActorSync.Tests.Support;

/// <summary>Runs the independent checker (tests/tools/treecheck.py, not the product's own comparer) over two trees.</summary>
public static class TreeCheck
{
    public sealed record Result(int ExitCode, string Differences, string Summary)
    {
        public bool Identical => ExitCode == 0;
    }

    /// <summary>The system's python3 (a pyenv shim may take seconds to start, and the kTLS VM has only the real one).</summary>
    public static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    public static async Task<Result> RunAsync(string expected, string actual, bool owners, bool attributes, string? script = null)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script ?? Path.Join(Repository.Root(), "tests", "tools", "treecheck.py"));
        psi.ArgumentList.Add(expected);
        psi.ArgumentList.Add(actual);
        if (owners) psi.ArgumentList.Add("--owners");
        if (attributes) psi.ArgumentList.Add("--xattrs");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return new Result(p.ExitCode, await stdout, await stderr);
    }
}
