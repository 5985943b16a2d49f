using System.CommandLine;
using ActorSync.Engine;
using ActorSync.Host.Cli;

namespace ActorSync.Host;

/// <summary>actorsync: a thin shell over the engine. Parses, builds the host, runs one command, exits with its status.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = Commands.Build();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"actorsync: {parse.Errors[0].Message} (see actorsync --help)");
            return ExitCodes.Usage;
        }
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancel.Token).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"actorsync: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Console.Error.WriteLine("actorsync: interrupted");
            return ExitCodes.TransferFailed;
        }
    }
}

/// <summary>Bad arguments or configuration discovered after parsing: exit status 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
