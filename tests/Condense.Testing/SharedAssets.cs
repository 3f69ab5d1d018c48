// The real models and texts of the shared folder that tests across projects read in place (../shared or
// $CONDENSE_SHARED); a missing file fails with a line naming it and how to point to the folder.
using Condense.Core.IO;

namespace Condense.Testing;

public static class SharedAssets
{
    public static string Stories260KPath => AssetPaths.Require("models/llama2c/stories260K.bin");
    public static string Llama2xsPath => AssetPaths.Require("models/llama2c/llama2xs_tinystories.bin");
    public static string Tok512Path => AssetPaths.Require("models/llama2c/tok512.bin");
    public static string HfStories260KDir => AssetPaths.Require("models/hf/stories260K");
    public static string ValidTextPath => AssetPaths.Require("data/tinystories/valid_first794KB.txt");
    public static string TrainTextPath => AssetPaths.Require("data/tinystories/train_partA.txt");
}
