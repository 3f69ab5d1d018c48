using Condense.Experts.Volumes;

namespace Condense.Experts.Tests;

/// <summary>The Colin27 atlas (Debian package mricron-data, installed by scripts/setup.sh), read once per test run.</summary>
internal static class ColinAtlas
{
    private static readonly Lazy<BrainAtlas> atlas = new(() => BrainAtlas.Load());

    public static BrainAtlas Value => atlas.Value;
}
