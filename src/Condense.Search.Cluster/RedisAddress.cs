using Condense.Core;

namespace Condense.Search.Cluster;

/// <summary>A Redis server named as redis://HOST:PORT.</summary>
public sealed record RedisAddress(string Host, int Port)
{
    /// <summary>Reads redis://HOST:PORT (port 6379 when omitted); anything else is an input error naming the value.</summary>
    public static RedisAddress Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "redis" || string.IsNullOrEmpty(uri.Host) || uri.AbsolutePath is not ("" or "/"))
            throw new InputException($"cluster address '{url}': expected redis://HOST:PORT");
        return new RedisAddress(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
    }

    /// <summary>The StackExchange.Redis connection string: fail fast, no admin commands.</summary>
    public string ConnectionString => $"{Host}:{Port},abortConnect=true,connectTimeout=3000,syncTimeout=10000";

    /// <inheritdoc/>
    public override string ToString() => $"redis://{Host}:{Port}";
}
