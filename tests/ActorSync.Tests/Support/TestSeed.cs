using Xunit.Abstractions;

namespace ActorSync.Tests.Support;

/// <summary>
/// Seeds for randomized tests: drawn afresh each run (so runs explore), printed, and taken from
/// ACTORSYNC_TEST_SEED when set, to re-run a failure exactly.
/// </summary>
public static class TestSeed
{
    public const string Variable = "ACTORSYNC_TEST_SEED";

    public static int Draw(ITestOutputHelper output)
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable(Variable), out int given) ? given : Random.Shared.Next();
        output.WriteLine($"seed {seed} (re-run with {Variable}={seed})");
        return seed;
    }
}
