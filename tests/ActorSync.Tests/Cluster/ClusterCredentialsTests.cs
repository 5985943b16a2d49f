using ActorSync.Cluster;
using ActorSync.Transport.Handshake;
using Xunit;

namespace ActorSync.Tests.Cluster;

public sealed class ClusterCredentialsTests
{
    [Fact]
    public void Every_holder_of_the_secret_derives_the_same_key_and_nobody_else_does()
    {
        var a = ClusterCredentials.Derive(SharedSecret.FromText("5f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", "a"));
        var again = ClusterCredentials.Derive(SharedSecret.FromText("5f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", "again"));
        var other = ClusterCredentials.Derive(SharedSecret.FromText("5f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3a", "other"));

        Assert.True(a.Certificate.HasPrivateKey);
        Assert.True(a.Admits(again.Certificate));
        Assert.True(again.Admits(a.Certificate));
        Assert.False(a.Admits(other.Certificate));
        Assert.False(other.Admits(a.Certificate));
        Assert.False(a.Admits(null));
        // The certificates differ (ECDSA signatures are randomised); the key is what is compared.
        Assert.Equal(a.Certificate.GetPublicKey(), again.Certificate.GetPublicKey());
    }
}
