"""The voice flow: webhooks, prompts, opening hours, up to the hand-off to the ACD."""
