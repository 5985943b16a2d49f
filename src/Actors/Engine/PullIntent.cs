namespace ActorSync.Engine;

/// <summary>What a pull asked its remote sender for (see <see cref="TransferOptions.Pull"/>).</summary>
internal sealed record PullIntent(bool Delete, bool DryRun, long MaxDelete);
