using System.Diagnostics.CodeAnalysis;

namespace ActorSync.Transport;

/// <summary>The peer broke the protocol (malformed frame, bad path, out-of-order data): exit status 4.</summary>
public class ProtocolException(string message) : Exception(message);

/// <summary>A record failed its AEAD check: the stream was tampered with or corrupted; exit status 4.</summary>
public sealed class IntegrityException(string message) : ProtocolException(message);

/// <summary>The peer could not prove it knows the shared secret (or refused our proof): exit status 3.</summary>
public sealed class AuthenticationException(string message) : Exception(message);

/// <summary>
/// The two sides cannot work together as configured: different protocol versions, or a cipher the receiver was
/// told not to accept (recv --cipher). Exit status 2, like any other configuration error.
/// </summary>
public sealed class IncompatiblePeerException(string message) : Exception(message);

/// <summary>A connection that is not an actorsync peer at all (no valid hello): a port scan, a health check.</summary>
public sealed class NotAPeerException(string message) : IOException(message);

/// <summary>The connection went away (reset, or closed without close_notify): a stream can be re-established.</summary>
public sealed class ConnectionLostException(string message) : IOException(message);

/// <summary>Throw helpers kept out of line so hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowProtocol(string message) => throw new ProtocolException(message);

    [DoesNotReturn]
    public static void ThrowIntegrity(string message) => throw new IntegrityException(message);

    [DoesNotReturn]
    public static void ThrowConnectionLost(string message) => throw new ConnectionLostException(message);

    [DoesNotReturn]
    public static void ThrowAuthentication(string message) => throw new AuthenticationException(message);
}
