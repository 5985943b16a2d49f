using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ActorSync.Transport.Handshake;
using Akka.Remote.Transport.DotNetty;

namespace ActorSync.Cluster;

/// <summary>
/// The cluster's TLS identity, derived from the shared secret. Every node holding the secret derives the same P-256
/// key pair (HKDF, a label of its own, so it reveals nothing about the transfer keys); Akka.Remote runs mutual TLS and
/// admits a peer, in either direction, only if its certificate carries that public key. A process without the
/// secret can open the port but cannot finish a handshake, so it can neither join nor send a message. The secret
/// never crosses the wire; the public key does (in TLS 1.3, only inside the encrypted handshake).
/// </summary>
internal sealed class ClusterCredentials
{
    private const string Salt = "actorsync v1 cluster";
    private const string KeyLabel = "actorsync v1 cluster tls key";
    private const string Subject = "CN=actorsync cluster";

    private readonly byte[] _publicKey;

    private ClusterCredentials(X509Certificate2 certificate, byte[] publicKey)
    {
        Certificate = certificate;
        _publicKey = publicKey;
    }

    /// <summary>The node's certificate, with its private key, for Akka.Remote's TLS.</summary>
    public X509Certificate2 Certificate { get; }

    public static ClusterCredentials Derive(SharedSecret secret)
    {
        byte[] prk = HKDF.Extract(HashAlgorithmName.SHA256, secret.Material, Encoding.ASCII.GetBytes(Salt));
        using var key = DeriveKey(prk);
        var request = new CertificateRequest(Subject, key, HashAlgorithmName.SHA256);
        // Fixed validity: the key is what is checked, and a node's clock must not decide whether it may join.
        using var selfSigned = request.CreateSelfSigned(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(9999, 1, 1, 0, 0, 0, TimeSpan.Zero));
        // SslStream serves a certificate whose key it can reach through the certificate's own store entry: an
        // ephemeral key from CreateSelfSigned is not one, its PKCS#12 round trip is.
        var certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), password: null);
        return new ClusterCredentials(certificate, key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Akka.Remote's TLS with this identity: mutual (a connecting peer must show the key too), the peer's key
    /// checked by <see cref="Admits"/> on both sides of every connection, host names not checked (nodes are IPs).</summary>
    public DotNettySslSetup ToSslSetup() =>
        new(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false,
            (certificate, _, _, _, _) => Admits(certificate));

    /// <summary>A peer is one of ours when its certificate's public key is the one the secret derives. Chain and name
    /// errors are expected (the certificate is self-signed and names no host) and say nothing either way.</summary>
    public bool Admits(X509Certificate2? peer)
    {
        if (peer is null) return false;
        using var key = peer.GetECDsaPublicKey();
        return key is not null && CryptographicOperations.FixedTimeEquals(key.ExportSubjectPublicKeyInfo(), _publicKey);
    }

    /// <summary>A private scalar in [1, n-1] from the expanded secret: HKDF output is uniform over 256 bits, and the
    /// few values at or above the curve's order (p ~ 2^-32) are skipped by expanding again with a counter.</summary>
    private static ECDsa DeriveKey(byte[] prk)
    {
        for (int counter = 0; ; counter++)
        {
            byte[] d = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, Encoding.ASCII.GetBytes($"{KeyLabel} {counter}"));
            try
            {
                return ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
            }
            catch (CryptographicException) when (counter < 16)
            {
                // d was zero or not below the order; the next counter gives another candidate.
            }
            finally
            {
                CryptographicOperations.ZeroMemory(d);
            }
        }
    }
}
