// Normalized Hadamard matrices (H·Hᵀ = I, every entry ±1/√n), the rotation PHI-S uses to spread the PCA
// spectrum evenly over all output dimensions (Ranzinger et al., "PHI-S: Distribution Balancing for Label-Free
// Multi-Teacher Distillation", arXiv:2410.01680, section 2 and appendix A.1.1). Reference: NVlabs/RADIO,
// examples/common/hadamard.py (get_hadamard_matrix). Notes: /work/shared/research/radio.md, section 2.4.
//
// Constructions (all ±1 before normalization):
//   Sylvester(2^k)   H[i, j] = (−1)^popcount(i & j), the closed form of [[H, H], [H, −H]].
//   PaleyI(q + 1)    q prime, q ≡ 3 (mod 4): H = I + [[0, 1ᵀ], [−1, Q]], Q[i, j] = χ(j − i) (Jacobsthal matrix,
//                    χ the Legendre symbol mod q).
//   PaleyII(2(q+1))  q prime, q ≡ 1 (mod 4): C = [[0, 1ᵀ], [1, Q]] (symmetric conference matrix), every 0 of C
//                    replaced by [[1, −1], [−1, −1]] and every ±1 by ±[[1, 1], [1, −1]].
//   Sylvester(2^a) ⊗ Paley(m), searched from the largest power of two down, as the reference does.
// Sizes of interest: 64, 128, 256, 512, 1024 = Sylvester; 384 = Sylvester(32) ⊗ PaleyI(12);
// 768 = Sylvester(64) ⊗ PaleyI(12); 1000 = Sylvester(2) ⊗ PaleyI(500) (499 is prime, ≡ 3 mod 4);
// 1152 = Sylvester(32) ⊗ PaleyII(36); 1280 = Sylvester(64) ⊗ PaleyI(20); 1408 = Sylvester(32) ⊗ PaleyI(44).
// Orders with no construction here: every n > 2 not divisible by 4 (no Hadamard matrix exists), and some
// multiples of 4, e.g. 92 (needs Williamson's construction) and 100 (needs Paley II over GF(7²)).
//
// Deviations:
// - Paley constructions use prime q only (the reference also requires a prime; prime powers would need GF(p^k)
//   arithmetic), and they are checked by q mod 4 exactly (the reference accepts any prime whose power is ≡ 1 for
//   Paley II, which only its final H·Hᵀ assertion would catch).
// - No silent fallback: Create throws for an order without a construction; CreateOrOrthogonal is the explicit
//   fallback (QR of a seeded random ±1 matrix, columns sign-fixed so R has a positive diagonal), orthogonal but
//   not Hadamard, so PHI-S only balances the per-dimension variances approximately with it.
// - The reference's fallback draws from torch's global RNG; this one is seeded and deterministic.
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using static TorchSharp.torch;

namespace Condense.Vision.Normalization;

/// <summary>Normalized Hadamard matrices of the Sylvester, Paley I, Paley II and Kronecker constructions.</summary>
public static class Hadamard
{
    private enum Kind { Sylvester, PaleyI, PaleyII }

    // Sylvester(sylvester) ⊗ block, where block is Paley of order `order` (or nothing when kind is Sylvester).
    private readonly record struct Construction(int Sylvester, Kind Kind, int Order)
    {
        public string Describe() => Kind switch
        {
            Kind.Sylvester => $"Sylvester({Sylvester})",
            _ when Sylvester == 1 => $"{Kind}({Order})",
            _ => $"Sylvester({Sylvester}) ⊗ {Kind}({Order})",
        };
    }

    /// <summary>Whether a construction of order <paramref name="n"/> is available.</summary>
    public static bool Exists(int n) => Find(n) is not null;

    /// <summary>
    /// The construction used for order <paramref name="n"/>, e.g. "Sylvester(64) ⊗ PaleyI(12)" for 768, or null
    /// when there is none.
    /// </summary>
    public static string? Describe(int n) => Find(n)?.Describe();

    /// <summary>The (n, n) float64 normalized Hadamard matrix, or false when no construction exists.</summary>
    public static bool TryCreate(int n, [NotNullWhen(true)] out Tensor? matrix)
    {
        matrix = Find(n) is Construction c ? Build(n, c) : null;
        return matrix is not null;
    }

    /// <summary>The (n, n) float64 normalized Hadamard matrix; throws when no construction exists.</summary>
    public static Tensor Create(int n) =>
        TryCreate(n, out var matrix)
            ? matrix
            : throw new ArgumentException(
                $"No Hadamard construction of order {n} (Sylvester 2^k, Paley I/II with prime q, and their " +
                "Kronecker products cover it only when n is 1, 2 or a suitable multiple of 4); " +
                "use Hadamard.CreateOrOrthogonal for an orthogonal fallback.", nameof(n));

    /// <summary>
    /// The Hadamard matrix of order <paramref name="n"/> when one can be built, otherwise a deterministic random
    /// orthogonal (n, n) float64 matrix: QR of a ±1 matrix drawn from <paramref name="seed"/>, with each column of
    /// Q signed so that R's diagonal is positive. The fallback is orthogonal but its entries are not ±1/√n.
    /// </summary>
    public static Tensor CreateOrOrthogonal(int n, int seed = 0)
    {
        if (TryCreate(n, out var matrix)) return matrix;
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "order must be positive");
        using var scope = NewDisposeScope();
        var rng = new Random(seed);
        var signs = new double[n * n];
        for (int i = 0; i < signs.Length; i++) signs[i] = rng.Next(2) == 0 ? -1.0 : 1.0;
        var (q, r) = linalg.qr(tensor(signs, [n, n]));                 // (n, n), (n, n)
        var d = r.diagonal().sign();                                    // (n)
        d = where(d == 0, ones_like(d), d);
        return (q * d.unsqueeze(0)).MoveToOuterDisposeScope();          // (n, n)
    }

    private static Construction? Find(int n)
    {
        if (n <= 0) return null;
        if (BitOperations.IsPow2(n)) return new Construction(n, Kind.Sylvester, 1);
        int twos = BitOperations.TrailingZeroCount(n);
        for (int a = twos - 1; a >= 0; a--)
        {
            int m = n >> a;
            if (IsPaleyI(m)) return new Construction(1 << a, Kind.PaleyI, m);
            if (IsPaleyII(m)) return new Construction(1 << a, Kind.PaleyII, m);
        }
        return null;
    }

    private static bool IsPaleyI(int m) => m >= 4 && IsPrime(m - 1) && (m - 1) % 4 == 3;

    private static bool IsPaleyII(int m) => m >= 12 && m % 2 == 0 && IsPrime(m / 2 - 1) && (m / 2 - 1) % 4 == 1;

    private static bool IsPrime(int q)
    {
        if (q < 2) return false;
        for (int d = 2; (long)d * d <= q; d++)
            if (q % d == 0) return false;
        return true;
    }

    private static Tensor Build(int n, Construction c)
    {
        int[,] block = c.Kind switch
        {
            Kind.PaleyI => PaleyI(c.Order - 1),
            Kind.PaleyII => PaleyII(c.Order / 2 - 1),
            _ => new[,] { { 1 } },
        };
        int m = block.GetLength(0);
        double scale = 1.0 / Math.Sqrt(n);
        var data = new double[(long)n * n];
        // Kronecker product Sylvester(s) ⊗ block: entry (i·m + k, j·m + l) = S[i, j] · B[k, l].
        for (int row = 0; row < n; row++)
        {
            int i = row / m, k = row % m;
            for (int col = 0; col < n; col++)
            {
                int j = col / m, l = col % m;
                int s = (BitOperations.PopCount((uint)(i & j)) & 1) == 0 ? 1 : -1;
                data[(long)row * n + col] = s * block[k, l] * scale;
            }
        }
        return tensor(data, [n, n]);                                     // (n, n)
    }

    // Legendre symbol table: chi[x] for x in [0, q).
    private static int[] Legendre(int q)
    {
        var chi = new int[q];
        Array.Fill(chi, -1);
        chi[0] = 0;
        for (long k = 1; k < q; k++) chi[k * k % q] = 1;
        return chi;
    }

    // Order q + 1, q prime ≡ 3 (mod 4): H = I + S with S = [[0, 1ᵀ], [−1, Q]] antisymmetric, S·Sᵀ = q·I.
    private static int[,] PaleyI(int q)
    {
        var chi = Legendre(q);
        var h = new int[q + 1, q + 1];
        for (int i = 0; i <= q; i++) h[i, i] = 1;
        for (int j = 1; j <= q; j++)
        {
            h[0, j] = 1;
            h[j, 0] = -1;
        }
        for (int i = 0; i < q; i++)
            for (int j = 0; j < q; j++)
                if (i != j) h[i + 1, j + 1] = chi[((j - i) % q + q) % q];
        return h;
    }

    // Order 2(q + 1), q prime ≡ 1 (mod 4): expand the symmetric conference matrix C = [[0, 1ᵀ], [1, Q]].
    private static int[,] PaleyII(int q)
    {
        var chi = Legendre(q);
        int c = q + 1;
        var h = new int[2 * c, 2 * c];
        for (int i = 0; i < c; i++)
        {
            for (int j = 0; j < c; j++)
            {
                int v = i == j ? 0 : i == 0 || j == 0 ? 1 : chi[((j - i) % q + q) % q];
                // 0 -> [[1, −1], [−1, −1]];  ±1 -> ±[[1, 1], [1, −1]]
                (int a, int b, int d, int e) = v == 0 ? (1, -1, -1, -1) : (v, v, v, -v);
                h[2 * i, 2 * j] = a;
                h[2 * i, 2 * j + 1] = b;
                h[2 * i + 1, 2 * j] = d;
                h[2 * i + 1, 2 * j + 1] = e;
            }
        }
        return h;
    }
}
