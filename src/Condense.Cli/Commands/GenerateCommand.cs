using System.CommandLine;
using System.Globalization;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Language;
using Condense.Language.Generation;
using Condense.Language.Native;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense generate</c>: continues a prompt with a LLaMA model and its KV cache, like llama2.c's run: BOS
/// first, <c>--steps</c> positions counted from BOS, greedy at temperature 0. Text streams to stdout (stderr with
/// <c>--json</c>).
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var threads = LanguageOptions.Threads();
        var model = LanguageOptions.Model();
        var tokenizer = LanguageOptions.Tokenizer();
        var prompt = new Option<string>("--prompt") { Description = "Text to continue (may be empty).", DefaultValueFactory = _ => "" };
        var steps = new Option<int?>("--steps") { Description = "Positions to run, counting BOS and the prompt (default: 256 or the model's sequence length if shorter)." };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy; otherwise softmax(logits / T) is sampled.", DefaultValueFactory = _ => 0.0 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus mass for sampling; 1 = sample the full distribution.", DefaultValueFactory = _ => 0.9 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampler's random generator.", DefaultValueFactory = _ => 42UL };
        var engine = LanguageOptions.Engine("native: faster than torch at batch 1 for every model measured");
        var cmd = new Command("generate", "Generate text from a LLaMA model (llama2.c or Hugging Face format) with a KV cache.")
        {
            model, tokenizer, prompt, steps, temperature, topP, seed, engine, json, threads,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            double t = pr.GetValue(temperature), p = pr.GetValue(topP);
            if (t < 0 || double.IsNaN(t)) throw new InputException($"--temperature must be >= 0, got {t.ToString(CultureInfo.InvariantCulture)}");
            if (p <= 0 || p > 1 || double.IsNaN(p)) throw new InputException($"--top-p must be in (0, 1], got {p.ToString(CultureInfo.InvariantCulture)}");
            bool native = LanguageOptions.UseNative(pr.GetValue(engine)!, autoIsNative: true);
            TorchRuntime.EnsureLoaded();
            LanguageOptions.ApplyThreads(pr.GetValue(threads));
            var (lm, tok, modelPath, _) = LanguageModelFiles.Load(pr.GetValue(model), pr.GetValue(tokenizer));
            using var _ = lm;
            int n = pr.GetValue(steps) ?? Math.Min(256, lm.Config.MaxSeqLen);
            if (n < 1 || n > lm.Config.MaxSeqLen)
                throw new InputException($"--steps {n} is outside 1..{lm.Config.MaxSeqLen}, the sequence length of {modelPath}");
            var promptIds = tok.Encode(pr.GetValue(prompt)!, bos: true);
            if (promptIds.Length > n)
                throw new InputException($"the prompt is {promptIds.Length} tokens with BOS, more than --steps {n} (the model's sequence length is {lm.Config.MaxSeqLen})");

            // Stream each piece as run.c prints it; bytes go out whole so split UTF-8 characters join up.
            var stream = output.Json ? Console.OpenStandardError() : Console.OpenStandardOutput();
            int previous = -1;
            foreach (var id in promptIds)
            {
                stream.Write(tok.DecodePiece(previous, id));
                previous = id;
            }
            var options = new SamplingOptions(t, p, pr.GetValue(seed));
            void Emit(int id)
            {
                stream.Write(tok.DecodePiece(previous, id));
                stream.Flush();
                previous = id;
            }
            var result = native
                ? NativeGenerator.Generate(LanguageOptions.NativeEngine(lm), promptIds, n, options, Emit)
                : LlamaGenerator.Generate(lm, promptIds, n, options, Emit);
            stream.Write("\n"u8);
            stream.Flush();
            double decodeRate = result.GeneratedTokens > 1 ? (result.GeneratedTokens - 1) / Math.Max(result.DecodeSeconds, 1e-9) : 0;
            output.Result(new
            {
                model = Path.GetFullPath(modelPath),
                prompt = pr.GetValue(prompt),
                text = tok.Decode(result.Tokens),
                tokens = result.Tokens,
                prompt_tokens = result.PromptTokens,
                generated_tokens = result.GeneratedTokens,
                steps = n,
                temperature = t,
                top_p = p,
                seed = pr.GetValue(seed),
                prefill_s = result.PrefillSeconds,
                decode_s = result.DecodeSeconds,
                decode_tokens_per_s = decodeRate,
                engine = native ? "native" : "torch",
                threads = TorchSharp.torch.get_num_threads(),
            });
            if (!output.Json)
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{result.GeneratedTokens} tokens generated, {decodeRate:F1} tok/s after the first"));
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
