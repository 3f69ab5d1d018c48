using Condense.Language.Sparsity;
using static TorchSharp.torch;

namespace Condense.Language.Tests.Sparsity;

public sealed class TwoFourTests
{
    [Fact]
    public void Keep_top_two_keeps_the_two_largest_of_each_group_of_four_inputs()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new float[,] { { 0.1f, -3f, 2f, 0.5f, 4f, 3f, -2f, 1f } });
        var mask = TwoFour.KeepTopTwo(w.abs());
        Assert.Equal(new float[] { 0, 1, 1, 0, 1, 1, 0, 0 }, mask.data<float>().ToArray());
    }

    [Fact]
    public void Indices_pack_and_unpack_round_trip_through_nibbles()
    {
        using var scope = NewDisposeScope();
        var w = randn(6, 12);                                                    // 18 groups, odd count per row
        var mask = TwoFour.KeepTopTwo(w.abs());
        var idx = TwoFour.ToIndices(mask);
        var packed = TwoFour.Pack(idx);
        Assert.Equal(new long[] { 9 }, packed.shape);
        Assert.Equal(ScalarType.Byte, packed.dtype);
        var back = TwoFour.FromIndices(TwoFour.Unpack(packed, 18), [6, 12]);
        Assert.True(back.eq(mask).all().item<bool>());
        Assert.Throws<ArgumentException>(() => TwoFour.Unpack(tensor(new byte[] { 0x07 }), 2)); // index 7 is no candidate
    }

    [Fact]
    public void First_violation_names_row_and_group()
    {
        using var scope = NewDisposeScope();
        var w = randn(5, 16);
        w.mul_(TwoFour.KeepTopTwo(w.abs()));
        Assert.Null(TwoFour.FirstViolation(w));
        var g = w.reshape(-1, 4)[4 * 2 + 3];                                     // row 2, group 3
        var zero = (g == 0).nonzero()[0, 0].item<long>();
        w[2, 3 * 4 + zero] = tensor(1f);
        var v = TwoFour.FirstViolation(w);
        Assert.Equal(new GroupViolation(2, 3, 3), v);
    }
}
