-- Driven by tests/test_neovim.py (not a test by itself): headless Neovim attaches its built-in
-- LSP client to `greenlint server` on the file it was started with, waits for the diagnostics,
-- asks for code actions at the first one, applies the preferred quick fix as Neovim applies
-- any workspace edit, and writes what it saw as JSON to $GREENLINT_NVIM_OUT. Works with
-- Neovim 0.7 (Debian bookworm: vim.lsp.start_client) and later (vim.lsp.start).
local out_path = os.getenv("GREENLINT_NVIM_OUT")
local cmd = vim.fn.json_decode(os.getenv("GREENLINT_NVIM_CMD"))
local bufnr = vim.api.nvim_get_current_buf()
local result = { nvim = tostring(vim.version().major) .. "." .. tostring(vim.version().minor) }

local function finish()
  local file = io.open(out_path, "w")
  file:write(vim.fn.json_encode(result))
  file:close()
  vim.cmd("qall!")
end

local started = vim.loop.hrtime()
local function mark(name)
  result[name .. "_ms"] = (vim.loop.hrtime() - started) / 1e6
end

local ok, err = pcall(function()
  local config = { name = "greenlint", cmd = cmd, root_dir = vim.fn.getcwd() }
  local client_id
  if vim.lsp.start then
    client_id = vim.lsp.start(config)
  else
    client_id = vim.lsp.start_client(config)
    vim.lsp.buf_attach_client(bufnr, client_id)
  end
  result.attached = client_id ~= nil

  result.arrived = vim.wait(30000, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 50)
  mark("diagnostics")
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(result.diagnostics, {
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
      source = d.source,
      code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code),
      message = d.message,
    })
  end
  if #result.diagnostics == 0 then
    return
  end

  -- Code actions at the first finding, then the preferred quick fix applied by Neovim itself.
  -- (The server works from its own findings in the range, so context.diagnostics may be empty.)
  local first = vim.diagnostic.get(bufnr)[1]
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = {
      start = { line = first.lnum, character = first.col },
      ["end"] = { line = first.end_lnum, character = first.end_col },
    },
    context = { diagnostics = {} },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 20000) or {}
  mark("actions")
  result.actions = {}
  local preferred
  for _, response in pairs(responses) do
    for _, action in ipairs(response.result or {}) do
      table.insert(result.actions, { title = action.title, kind = action.kind, isPreferred = action.isPreferred or false })
      if action.isPreferred and action.edit and not preferred then
        preferred = action
      end
    end
  end
  if preferred then
    vim.lsp.util.apply_workspace_edit(preferred.edit, "utf-16")
    result.fixed = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n") .. "\n"
  end

  mark("fixed")
  local client = vim.lsp.get_client_by_id(client_id)
  if client then
    client.stop()
  end
end)
if not ok then
  result.error = tostring(err)
end
finish()
