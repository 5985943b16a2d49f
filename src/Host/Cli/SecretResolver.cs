using ActorSync.Transport.Handshake;
using Microsoft.Extensions.Logging;

namespace ActorSync.Host.Cli;

/// <summary>--secret-file, then $ACTORSYNC_SECRET, then --secret (visible in ps, so it warns).</summary>
internal static class SecretResolver
{
    public const string EnvironmentVariable = "ACTORSYNC_SECRET";

    public static SharedSecret Resolve(string? file, string? literal, ILogger log)
    {
        SharedSecret secret;
        if (file is not null) secret = SharedSecret.FromFile(file);
        else if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) secret = SharedSecret.FromText(env, $"${EnvironmentVariable}");
        else if (literal is not null)
        {
            log.LogWarning("--secret is visible to other users of this machine (ps, /proc); prefer --secret-file or ${Var}", EnvironmentVariable);
            secret = SharedSecret.FromText(literal, "--secret");
        }
        else throw new ArgumentException($"no secret: pass --secret-file FILE (create one with `actorsync keygen FILE`) or set {EnvironmentVariable}");
        if (secret.IsWeak)
            log.LogWarning("the secret from {Origin} is short: anyone who captures a handshake can try to guess it offline; use `actorsync keygen`", secret.Origin);
        return secret;
    }
}
