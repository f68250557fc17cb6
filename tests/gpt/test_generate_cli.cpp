// `llm-journey generate --model DIR`: a Hugging Face GPT-2 directory made by the test, text streamed
// as it is made (a run killed mid-way has already written its text), only whole UTF-8 characters
// (a byte-level BPE can sample bytes that never form one: they come out as U+FFFD), the speeds on
// stderr, and clear errors for bad options.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/data_test_util.hpp"
#include "gpt/hf_dir.hpp"
#include "llm_journey/data/unicode.hpp"
#include "llm_journey/train.hpp"

using namespace lj;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct CliRun {
  int status;  // the shell's exit status (128 + signal for a killed command)
  std::string out, err;
};

CliRun run(const std::string& args, const std::string& prefix = "") {
  const std::string tmp = test::temp_dir("gen_cli");
  const std::string cmd = prefix + std::string(LJ_CLI) + " generate " + args + " > " + tmp + "/out 2> " + tmp + "/err";
  const int rc = std::system(("sh -c '" + cmd + "'").c_str());
  CliRun r{WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_bytes(tmp + "/out"), ""};
  r.err = read_bytes(tmp + "/err");
  std::filesystem::remove_all(tmp);
  return r;
}

// Made once per test process, removed at its exit.
struct ModelDir {
  std::string dir;
  ~ModelDir() { std::filesystem::remove_all(dir); }
};

const std::string& model_dir() {
  static const ModelDir d{[] {
    std::string corpus = data::read_text_file(test::shakespeare_path()).substr(0, 5000);
    return test::make_hf_gpt2_dir("gen_cli_model", corpus, 300,
                                  nn::GPTConfig{.block_size = 32, .vocab_size = 0, .n_layer = 2, .n_head = 2, .n_embd = 32},
                                  9)
        .dir;
  }()};
  return d.dir;
}

}  // namespace

TEST(GenerateCli, StreamsWholeCharactersAndAKilledRunHasWrittenThem) {
  // far more tokens than fit in the seconds given; temperature 1 over every token of a random model:
  // bytes 0x80-0xFF come up often, and most never complete a character
  const CliRun r = run("--model " + model_dir() + " --prompt ROMEO: --max-new-tokens 100000000 --temperature 1 --top-k 0",
                    "timeout -s KILL 6 ");
  EXPECT_EQ(r.status, 128 + 9) << r.err;
  ASSERT_GT(r.out.size(), 100u) << "nothing streamed before the kill";
  EXPECT_EQ(r.out.rfind("ROMEO:", 0), 0u);
  EXPECT_EQ(data::find_invalid_utf8(r.out), std::string::npos);
  EXPECT_NE(r.out.find("\xEF\xBF\xBD"), std::string::npos) << "no invalid byte was sampled: the test proves nothing";
}

TEST(GenerateCli, EachDtypeFinishesWithSpeedsOnStderr) {
  for (const char* dtype : {"fp32", "bf16", "int8"}) {
    const CliRun r = run("--model " + model_dir() + " --dtype " + dtype + " --prompt Hello --max-new-tokens 80 --seed 3");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Hello", 0), 0u);
    EXPECT_EQ(data::find_invalid_utf8(r.out), std::string::npos);
    EXPECT_NE(r.err.find("prompt: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("generated: 80 tokens"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(std::string(dtype) + " weights"), std::string::npos) << r.err;
  }
  // same seed, same text
  const CliRun a = run("--model " + model_dir() + " --max-new-tokens 100 --seed 5");
  const CliRun b = run("--model " + model_dir() + " --max-new-tokens 100 --seed 5");
  EXPECT_EQ(a.out, b.out);
  // past block_size (32): the context slides; the run goes on
  const CliRun c = run("--model " + model_dir() + " --max-new-tokens 150 --seed 5");
  EXPECT_EQ(c.status, 0) << c.err;
}

TEST(GenerateCli, BadOptionsAreNamed) {
  CliRun r = run("--model " + model_dir() + " --dtype fp16");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("unknown weight format 'fp16'"), std::string::npos) << r.err;
  r = run("--model " + model_dir() + " --checkpoint x.safetensors");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not both"), std::string::npos) << r.err;
  r = run("--prompt hi");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not neither"), std::string::npos) << r.err;
  r = run("--model " + model_dir() + " --temperature nan");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--temperature nan"), std::string::npos) << r.err;
  r = run("--model /nonexistent/gpt2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/nonexistent/gpt2 is not a directory"), std::string::npos) << r.err;
}

TEST(GenerateCli, CheckpointsWrittenByTrainStillGenerate) {
  const std::string text = data::read_text_file(test::shakespeare_path()).substr(0, 20000);
  data::CharTokenizer tok = data::CharTokenizer::from_text(text);
  data::Dataset ds(text, tok);
  train::TrainConfig cfg;
  cfg.model = nn::GPTConfig{.block_size = 16, .vocab_size = tok.vocab_size(), .n_layer = 1, .n_head = 2, .n_embd = 16};
  cfg.max_iters = 2;
  train::Trainer trainer(cfg, ds, tok);
  const std::string dir = test::temp_dir("gen_cli_ckpt");
  trainer.save_checkpoint(dir + "/checkpoint.safetensors");
  for (const char* dtype : {"fp32", "int8"}) {
    const CliRun r = run("--checkpoint " + dir + "/checkpoint.safetensors --dtype " + dtype +
                         " --prompt First --max-new-tokens 40");  // past block_size: the context slides
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("First", 0), 0u);
    EXPECT_EQ(r.out.size(), 5u + 40u + 1u);  // one character per token, and a newline
  }
  std::filesystem::remove_all(dir);
}
