// Checks the copies of known assets on this machine: every copy is found by AssetPaths.Locate, its size compared
// with the catalog's, and (when asked) its SHA-256 computed. A wrong copy is never silently used elsewhere: the
// size check is cheap enough for `condense assets`, the hash is `condense assets verify`.
using System.Security.Cryptography;

namespace Condense.Core.IO;

/// <summary>One copy of an asset on this machine and what the check found.</summary>
/// <param name="Path">Absolute path of the copy.</param>
/// <param name="State">"found" (size matches, not hashed), "verified" (size and SHA-256 match), "wrong size" or
/// "wrong sha256".</param>
public sealed record AssetCopy(string Path, string State)
{
    /// <summary>True unless the copy differs from the catalog.</summary>
    public bool Good => State is "found" or "verified";
}

/// <summary>An asset and its copies on this machine.</summary>
public sealed record AssetStatus(AssetEntry Entry, IReadOnlyList<AssetCopy> Copies)
{
    /// <summary>At least one good copy exists.</summary>
    public bool Available => Copies.Any(c => c.Good);
}

/// <summary>Finds and checks the copies of every catalogued asset.</summary>
public static class AssetCheck
{
    /// <summary>Every asset of <see cref="AssetCatalog.All"/> with its copies; <paramref name="hash"/> computes SHA-256.</summary>
    public static IReadOnlyList<AssetStatus> Run(bool hash) => [.. AssetCatalog.All.Select(e => Check(e, hash))];

    /// <summary>The copies of <paramref name="entry"/> and their state.</summary>
    public static AssetStatus Check(AssetEntry entry, bool hash)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var copies = new List<AssetCopy>();
        foreach (var path in AssetPaths.Locate(entry))
        {
            string state;
            if (new FileInfo(path).Length != entry.Size) state = "wrong size";
            else if (!hash) state = "found";
            else state = Sha256Hex(path) == entry.Sha256 ? "verified" : "wrong sha256";
            copies.Add(new AssetCopy(path, state));
        }
        return new AssetStatus(entry, copies);
    }

    /// <summary>
    /// True when no copy differs from the catalog and every shipped asset is present (a missing shipped file is a
    /// broken install; other assets are optional and reported as missing).
    /// </summary>
    public static bool Passes(IEnumerable<AssetStatus> statuses) =>
        statuses.All(s => s.Copies.All(c => c.Good) && (s.Entry.Provider != AssetProvider.Shipped || s.Available));

    /// <summary>Lower-case hex SHA-256 of a file's bytes.</summary>
    public static string Sha256Hex(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
