// nanoGPT checkpoints (through tools/from_nanogpt.py) and Hugging Face GPT-2 files, both made by
// PyTorch from one model (tests/torch_ref/gpt_model_refs.py): the same logits within 1e-4.
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "llm_journey/nn/gpt_import.hpp"
#include "llm_journey/train.hpp"
#include "torch_ref.hpp"

using namespace lj;

TEST(Interop, HuggingFaceGPT2LayoutGivesTorchsLogits) {
  test::RefFile r("interop_logits");
  auto m = nn::load_hf_gpt2(test::refs_dir() + "/hf_gpt2.safetensors", 2);
  EXPECT_EQ(m->config.n_layer, 2);
  EXPECT_EQ(m->config.vocab_size, 12);
  EXPECT_TRUE(m->config.bias);
  EXPECT_TRUE(test::close_abs((*m)(r["idx"]), r["logits"], 1e-4f));
  EXPECT_THROW(nn::load_hf_gpt2(test::refs_dir() + "/interop_logits.safetensors"), Error);
}

TEST(Interop, NanoGPTCheckpointThroughTheConverter) {
  test::RefFile r("interop_logits");
  const std::string out = (std::filesystem::temp_directory_path() /
                           ("lj_from_nanogpt_" + std::to_string(::getpid()) + ".safetensors")).string();
  const std::string cmd = std::string("/usr/bin/python3 ") + LJ_SOURCE_DIR + "/tools/from_nanogpt.py --checkpoint " +
                          test::refs_dir() + "/nanogpt_ckpt.pt --meta " + test::refs_dir() +
                          "/nanogpt_meta.pkl --out " + out + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  train::LoadedModel m = train::load_checkpoint(out);
  EXPECT_EQ(m.tokenizer->vocab_size(), 12);
  EXPECT_EQ(m.tokenizer->decode({0, 1, 2}), "\n a");
  EXPECT_TRUE(test::close_abs((*m.model)(r["idx"]), r["logits"], 1e-4f));
  std::filesystem::remove(out);
}
