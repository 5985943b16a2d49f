using System.CommandLine;
using System.Runtime.InteropServices;
using ActorSync.Engine;
using ActorSync.Host.Cli;

namespace ActorSync.Host;

/// <summary>actorsync: a thin shell over the engine. Parses, builds the host, runs one command, exits with its status.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var interrupt = new Interruption();
        var root = Commands.Build(interrupt.Token);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"actorsync: {parse.Errors[0].Message} (see actorsync --help)");
            return ExitCodes.Usage;
        }
        try
        {
            // Signals are ours (Interruption), not System.CommandLine's, which would stop waiting for the command.
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"actorsync: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (CommandFailedException e)
        {
            Console.Error.WriteLine($"actorsync: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (interrupt.Signal is { } signal)
        {
            Console.Error.WriteLine($"actorsync: interrupted ({signal}); the same command again finishes the copy");
            return Interruption.ExitCodeOf(signal);
        }
    }
}

/// <summary>Bad arguments or configuration discovered after parsing: exit status 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A command's failure outside a transfer (a cluster node unreachable, the remote side not started over ssh),
/// with its exit status and one line for the user.</summary>
internal sealed class CommandFailedException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM (kill, systemd, docker stop) stop the command the same way: the transfer is cancelled,
/// its actors stop, what reached the disk stays for the re-run, and the exit status is 128 + the signal's number, as a
/// shell reports a process the signal ended. A second signal, while that is under way, ends the process at once.
/// Without a handler of our own, .NET's default for SIGTERM runs the process-exit handlers (Akka's coordinated
/// shutdown among them) while the command still waits for its transfer, and the process never exits.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _sigint, _sigterm;
    private int _signal;

    public Interruption()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>The signal that cancelled the command, if one did.</summary>
    public PosixSignal? Signal => Volatile.Read(ref _signal) == 0 ? null : (PosixSignal)Volatile.Read(ref _signal);

    public static int ExitCodeOf(PosixSignal signal) => 128 + (signal == PosixSignal.SIGINT ? 2 : 15);

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0)
        {
            // The second one: the user does not want to wait for a polite stop.
            Console.Error.WriteLine("actorsync: interrupted again; exiting now");
            Transport.Interop.Libc.ExitNow(ExitCodeOf(context.Signal));
        }
        context.Cancel = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _cancel.Dispose();
    }
}
