"""advisor.finetune.lora."""
