using System.Diagnostics;
using ActorSync.Hosting;
using ActorSync.Host.Demo;
using ActorSync.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorSync.Tests.Hosting;

/// <summary>ActorSync inside an application's own Akka.NET system, through Akka.Hosting.</summary>
public sealed class EmbeddingTests
{
    /// <summary>examples/EmbeddedCopy: its own ActorSystem, its own actor, Serilog for Akka's logging, its own HOCON
    /// over ActorSync's defaults; it copies a tree through the public message API.</summary>
    [Fact]
    public async Task The_example_host_copies_a_tree_through_the_message_api_with_its_own_settings_and_logging()
    {
        using var scratch = new Scratch("example");
        TreeGenerator.Generate(scratch.Sub("src"), new TreeSpec { SmallFiles = 500, LargeFileBytes = 8 << 20 });
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        string dll = Path.Join(Repository.Root(), "examples", "EmbeddedCopy", "bin", configuration, "net10.0", "EmbeddedCopy.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { dll, scratch.Sub("src"), scratch.Sub("dst") }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        string output = await stdout, log = await stderr;
        Assert.True(p.ExitCode == 0, output + log);
        Assert.Contains("over 3 streams", output);                                   // the host's HOCON won
        Assert.Contains("[akka://HostSystem/user/copy-client] progress:", log);     // Akka's logging went to Serilog
        Assert.True(TreeComparer.Compare(scratch.Sub("src"), scratch.Sub("dst")).Identical);
    }

    [Fact]
    public async Task A_host_whose_actorsync_section_is_wrong_fails_to_start_naming_the_key()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka("Misconfigured", akka => akka.AddHocon("actorsync.transfer.stream = 3", HoconAddMode.Prepend).WithActorSync());
        using var app = builder.Build();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        while (e is not FormatException && e.InnerException is { } inner) e = inner;
        Assert.IsType<FormatException>(e);
        Assert.StartsWith("actorsync.transfer.stream: not a setting", e.Message, StringComparison.Ordinal);
        await app.StopAsync();
    }
}
