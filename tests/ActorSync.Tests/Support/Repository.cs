using Xunit;

namespace ActorSync.Tests.Support;

public static class Repository
{
    /// <summary>
    /// Walks up from the test binaries to the directory holding ActorSync.sln. Falls back to this source file's
    /// location so the tests also work when compiled by a harness outside the repository.
    /// </summary>
    public static string Root([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (string? start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ActorSync.sln"))) return dir.FullName;
            }
        }
        Assert.Fail($"ActorSync.sln not found above {AppContext.BaseDirectory} or {sourceFile}");
        return "";
    }
}
